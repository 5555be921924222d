"""The audit log: every write and every sensitive read, kept as proof.

An entry is written in the schema of the host the request came to: a school's own schema on
its host, public on the bureau host; `AuditEntry.school` names the school acted in (a
bureau officer's download of a school's file is a public entry naming that school). A
database trigger keeps the table append-only for every user of the application
(accounts/migrations/0004); only `audit_purge` deletes, and only what is older than the
retention (AUDIT_RETENTION_DAYS).

Actions:

* ``write``: every POST/PUT/PATCH/DELETE that reached a view with a signed-in user
  (accounts.middleware.AuditMiddleware); a student's edit carries the before/after values
  its StudentEvent recorded.
* ``login``, ``logout``, ``login.failed``: Django's auth signals (accounts.apps).
* ``read.reveal``: a student's page with full ID numbers and phones.
* ``read.lookup``: a look-up across schools (转学查找, 初中新生查找, a list of them): what
  was asked, masked, and how many records matched (shared_apps.transfers.lookups).
* ``read.export`` / ``read.export.full``: an export, masked or with full values.
* ``read.file``: a stored file (evidence, photos, annotated imports) downloaded: every link
  is the application's /files/<token>/, which records the entry before it serves the file
  or redirects to S3 (tenants.storage).
* ``restore``: a backup restored into the school (written by shared_apps.backups inside
  the restore's transaction; the log itself is never rolled back by a restore).

Lists and exports of the log show ID numbers and phones masked, like every other list.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.models import AuditEntry, User
from accounts.services import client_ip
from common.masking import mask_id_number, mask_phone

logger = logging.getLogger(__name__)

WRITE = "write"
LOGIN = "login"
LOGOUT = "logout"
LOGIN_FAILED = "login.failed"
READ_REVEAL = "read.reveal"
READ_LOOKUP = "read.lookup"
READ_EXPORT = "read.export"
READ_EXPORT_FULL = "read.export.full"
READ_FILE = "read.file"
RESTORE = "restore"  # a backup restored into the school (shared_apps.backups.services)
ACTIONS = (
    WRITE,
    LOGIN,
    LOGOUT,
    LOGIN_FAILED,
    READ_REVEAL,
    READ_LOOKUP,
    READ_EXPORT,
    READ_EXPORT_FULL,
    READ_FILE,
    RESTORE,
)

# URL keyword arguments that name the object a request acts on, first match wins.
OBJECT_KWARGS = (
    ("student_id", "student"),
    ("problem_id", "problem"),
    ("batch_id", "import_batch"),
    ("review_id", "evidence_review"),
    ("school_id", "school"),
    ("job_id", "job"),
    ("case_id", "case"),
)
EXPORT_MAX_ROWS = 100_000


# -- writing ----------------------------------------------------------------------------


def _http(request: Any) -> HttpRequest:
    """The Django request under a DRF request (DRF proxies, but attributes set on it stay)."""
    return getattr(request, "_request", request)  # type: ignore[no-any-return]


def _who(actor: Any, request: Any) -> tuple[str, str]:
    if actor is None and request is not None:
        user = getattr(_http(request), "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is None:
        return "", ""
    if isinstance(actor, str):
        return actor, ""
    display = getattr(actor, "full_name", "") or getattr(actor, "name", "")
    return str(getattr(actor, "username", "") or ""), str(display or "")


def _json(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """Plain JSON (dates and UUIDs as strings), so that any service's values fit."""
    if not value:
        return {}
    return json.loads(json.dumps(dict(value), cls=DjangoJSONEncoder))  # type: ignore[no-any-return]


def audit_record(
    *,
    request: Any = None,
    actor: Any = None,
    action: str,
    object_type: str = "",
    object_id: object = "",
    object_repr: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    school: str | None = None,
    status: int | None = None,
) -> AuditEntry:
    """Write one entry in the CURRENT schema and return it.

    `actor` is a user, a common.actor.Actor or a bare username; without it the request's
    signed-in user. Failing to write raises: a sensitive read must not happen unrecorded.
    """
    username, display = _who(actor, request)
    http = _http(request) if request is not None else None
    entry = AuditEntry.objects.create(
        username=username[:150],
        user_display=display[:100],
        ip=client_ip(http.META) if http is not None else None,
        school=(school or str(connection.schema_name))[:63],
        action=action[:40],
        object_type=object_type[:60],
        object_id=str(object_id if object_id is not None else "")[:64],
        object_repr=str(object_repr or "")[:200],
        before=_json(before),
        after=_json(after),
        method=str(getattr(http, "method", "") or "")[:8],
        path=str(getattr(http, "path", "") or "")[:300],
        status=status,
    )
    if http is not None:
        # The request is accounted for: the middleware adds no generic "write" entry.
        http._audit_recorded = True  # type: ignore[attr-defined]
    return entry


def audit_record_safely(**kwargs: Any) -> None:
    """`audit_record` in its own savepoint; a failure is logged and never breaks the caller
    (logins, logouts and the middleware's write entries)."""
    try:
        with transaction.atomic():
            audit_record(**kwargs)
    except Exception:
        logger.exception("audit entry %s could not be written", kwargs.get("action"))


def _url_object(request: HttpRequest, response: Any) -> tuple[str, str]:
    """The object named by the URL's keyword arguments; for a create that redirects to the
    new object's page (students, imports), the object of that page."""
    kwargs = dict(getattr(getattr(request, "resolver_match", None), "kwargs", None) or {})
    location = response.get("Location", "") if hasattr(response, "get") else ""
    if not any(name in kwargs for name, _ in OBJECT_KWARGS) and location.startswith("/"):
        try:
            kwargs = resolve(location.split("?")[0], getattr(request, "urlconf", None)).kwargs
        except Resolver404:
            kwargs = {}
    for name, kind in OBJECT_KWARGS:
        if name in kwargs:
            return kind, str(kwargs[name])
    return "", ""


# -- what the middleware's entry says about an object: filled by the apps above ------------

# (object_repr, before, after) of the object a finished request acted on, from its id and
# the moment the request started.
Describer = Callable[[str, dt.datetime], tuple[str, dict[str, Any], dict[str, Any]]]


@dataclass(frozen=True)
class _Describer:
    describe: Describer
    school_only: bool  # only in a school's own schema (its tables exist nowhere else)
    successful_only: bool  # only when the request succeeded (status below 400)


_DESCRIBERS: dict[str, _Describer] = {}


def register_describer(
    object_type: str,
    describe: Describer,
    *,
    school_only: bool = True,
    successful_only: bool = True,
) -> None:
    """Let the app owning `object_type` say what a request changed on it (called from its
    AppConfig.ready()): the log itself knows no domain. The registry describes students
    and problem records, the case engine its cases."""
    _DESCRIBERS[object_type] = _Describer(describe, school_only, successful_only)


def _described(
    object_type: str, object_id: str, *, schema: str, status: int, since: dt.datetime
) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """What the registered describer says, or None when none applies here."""
    found = _DESCRIBERS.get(object_type)
    if found is None:
        return None
    if found.successful_only and status >= 400:
        return None
    if found.school_only and schema == "public":
        return None
    return found.describe(object_id, since)


# Labels of the keys apps write into before/after (the registry's national-template
# headers: 姓名, 身份证件号 …), filled from their AppConfig.ready(); the log's own keys
# are accounts.audit_views.VALUE_LABELS.
FIELD_LABELS: dict[str, str] = {}


def register_field_labels(labels: Mapping[str, str]) -> None:
    """Add labels for before/after keys; an earlier label for the same key is kept."""
    for key, label in labels.items():
        FIELD_LABELS.setdefault(key, label)


def _school_acted_in(school_id: int) -> tuple[str, str] | None:
    """(schema, name) of the school a bureau request acted on, read in public."""
    from tenants.models import School

    found = School.objects.schools().filter(pk=school_id).values_list("schema_name", "name")
    return found.first()


def audit_describe(
    request: Any,
    *,
    object_type: str,
    object_id: object = "",
    object_repr: str = "",
    after: Mapping[str, Any] | None = None,
) -> None:
    """Name what a page's POST acted on when its URL names nothing (a batch decision, a
    form carrying the id): the middleware's "write" entry then says it instead of an
    empty object."""
    _http(request)._audit_described = {  # type: ignore[attr-defined]
        "object_type": object_type,
        "object_id": str(object_id),
        "object_repr": object_repr,
        "after": dict(after or {}),
    }


def audit_request_write(request: HttpRequest, response: Any, *, started: dt.datetime) -> None:
    """The "write" entry of one finished request (accounts.middleware.AuditMiddleware).

    Runs after the response, in the request's own schema and its own small transaction;
    it never raises, so auditing cannot fail a request that already happened.
    """
    from tenants.context import school_context

    if getattr(request, "_audit_recorded", False):
        return
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        # DRF authenticates tokens inside the view; a logout ends the user before we get here
        user = getattr(request, "_audit_user", None)
    if user is None:
        return
    tenant = getattr(request, "tenant", None)
    schema = str(getattr(tenant, "schema_name", "") or connection.schema_name)
    status = int(getattr(response, "status_code", 0) or 0)
    try:
        with school_context(schema), transaction.atomic():
            object_type, object_id = _url_object(request, response)
            object_repr, before, after, school = "", {}, {}, schema  # type: ignore[var-annotated]
            described = getattr(request, "_audit_described", None)
            found = (
                _described(object_type, object_id, schema=schema, status=status, since=started)
                if object_type
                else None
            )
            if described and not object_type:
                object_type, object_id = described["object_type"], described["object_id"]
                object_repr, after = described["object_repr"], described["after"]
            elif found is not None:
                object_repr, before, after = found
            elif (
                object_type == "school"
                and status < 400
                and schema == "public"
                and object_id.isdigit()
            ):
                school, object_repr = _school_acted_in(int(object_id)) or (schema, "")
            audit_record(
                request=request,
                actor=user,
                action=WRITE,
                object_type=object_type,
                object_id=object_id,
                object_repr=object_repr,
                before=before,
                after=after,
                school=school,
                status=status,
            )
    except Exception:
        logger.exception("audit entry for %s %s could not be written", request.method, request.path)


# -- logins (connected in accounts.apps) -------------------------------------------------


def on_user_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None:
        audit_record_safely(
            request=request, actor=user, action=LOGIN, object_type="user", object_id=user.pk
        )


def on_user_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None:
        audit_record_safely(
            request=request, actor=user, action=LOGOUT, object_type="user", object_id=user.pk
        )


def on_user_login_failed(
    sender: Any, credentials: Mapping[str, Any] | None = None, request: Any = None, **kwargs: Any
) -> None:
    username = str((credentials or {}).get("username", "") or "")
    # A name that is no account is recorded as tried (nobody is created); the flag is set
    # by accounts.services.login_attempt so that the log tells guessing from typos.
    unknown = request is not None and getattr(_http(request), "_login_unknown_user", False)
    # A wrong password when a signed-in user confirms a sensitive action
    # (accounts.services.password_confirm): the same failure, told apart in the log.
    reauth = request is not None and getattr(_http(request), "_login_reauth", False)
    # A wrong old password when changing the password (accounts.services.password_change).
    changing = request is not None and getattr(_http(request), "_login_password_change", False)
    after = (
        {"unknown_user": True}
        if unknown
        else {"reauth": True}
        if reauth
        else {"password_change": True}
        if changing
        else None
    )
    audit_record_safely(request=request, actor=username, action=LOGIN_FAILED, after=after)


# -- retention -------------------------------------------------------------------------


def audit_purge(*, older_than_days: int) -> int:
    """Delete the current schema's entries older than the retention; returns how many.

    The trigger lets a DELETE through only while `xueji.audit_purge` is on, which this
    sets for its own transaction and switches off again before the transaction goes on.
    """
    if older_than_days < 1:
        raise ValueError("the audit retention must be at least one day")
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL xueji.audit_purge = 'on'")
        deleted, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
        cursor.execute("SET LOCAL xueji.audit_purge = 'off'")
    return deleted


# -- masking for lists and exports ------------------------------------------------------


def _masked(key: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if key.endswith("id_number"):
        return mask_id_number(value)
    if key.endswith("phone"):
        return mask_phone(value)
    if key == "national_number" and value.startswith("G"):
        return "G" + mask_id_number(value[1:])  # G + the resident ID number
    return value


def masked_values(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Before/after values as lists show them: ID numbers and phones masked."""
    return {k: _masked(k, v) for k, v in (values or {}).items()}


# -- reading: filters, scopes, pages ----------------------------------------------------


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditFilters:
    """The search form and the API share these (all optional, bad values ignored)."""

    user: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AuditFilters:
        action = str(params.get("action", "") or "").strip()
        return cls(
            user=str(params.get("user", "") or "").strip()[:150],
            action=action if action in ACTIONS or action == "read" else "",
            date_from=_date(params.get("date_from")),
            date_to=_date(params.get("date_to")),
            q=str(params.get("q", "") or "").strip()[:200],
        )

    def as_query(self) -> dict[str, str]:
        values = {
            "user": self.user,
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
        }
        return {k: v for k, v in values.items() if v}

    def where(self) -> Q:
        where = Q()
        if self.user:
            where &= Q(username__icontains=self.user) | Q(user_display__icontains=self.user)
        if self.action:
            # "read" finds every read; "login" finds login and login.failed.
            where &= Q(action=self.action) | Q(action__startswith=self.action + ".")
        tz = timezone.get_current_timezone()
        if self.date_from:
            where &= Q(at__gte=dt.datetime.combine(self.date_from, dt.time.min, tzinfo=tz))
        if self.date_to:
            end = self.date_to + dt.timedelta(days=1)
            where &= Q(at__lt=dt.datetime.combine(end, dt.time.min, tzinfo=tz))
        if self.q:
            where &= (
                Q(object_repr__icontains=self.q)
                | Q(object_id__icontains=self.q)
                | Q(object_type__icontains=self.q)
                | Q(path__icontains=self.q)
            )
        return where


@dataclass(frozen=True)
class AuditSource:
    """Entries of one schema matching `where`."""

    schema: str
    where: Q = field(default_factory=Q)

    def queryset(self) -> QuerySet[AuditEntry]:
        return AuditEntry.objects.filter(self.where).order_by("-at", "-id")


ROW_FIELDS = (
    "id",
    "at",
    "username",
    "user_display",
    "ip",
    "school",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "method",
    "path",
    "status",
)


class AuditLog:
    """Newest-first entries of one or more schemas as plain dicts.

    Each schema is read inside its own context and only dicts come out (never a model
    instance across a switch). It counts and slices, so Django's Paginator and DRF's
    page pagination take it like a queryset. Slicing several schemas reads the first
    `stop` rows of each and merges them.
    """

    def __init__(self, sources: list[AuditSource], school_names: Mapping[str, str]):
        self.sources = sources
        self.school_names = dict(school_names)

    def count(self) -> int:
        from tenants.context import school_context

        total = 0
        for source in self.sources:
            with school_context(source.schema):
                total += source.queryset().count()
        return total

    def __len__(self) -> int:
        return self.count()

    def _read(self, source: AuditSource, start: int, stop: int) -> list[dict[str, Any]]:
        from tenants.context import school_context

        with school_context(source.schema):
            rows = list(source.queryset().values(*ROW_FIELDS)[start:stop])
        for row in rows:
            row["source"] = source.schema
            row["school_name"] = self.school_names.get(row["school"], row["school"])
            row["before"] = masked_values(row["before"])
            row["after"] = masked_values(row["after"])
        return rows

    def __getitem__(self, key: slice) -> list[dict[str, Any]]:
        if not isinstance(key, slice):
            raise TypeError("AuditLog supports slices only")
        start, stop = key.start or 0, key.stop
        if stop is None:
            stop = start + EXPORT_MAX_ROWS
        if len(self.sources) == 1:
            return self._read(self.sources[0], start, stop)
        merged = [row for source in self.sources for row in self._read(source, 0, stop)]
        merged.sort(key=lambda r: (r["at"], r["source"], r["id"]), reverse=True)
        return merged[start:stop]


def audit_log_school(*, schema: str, school_name: str, filters: AuditFilters) -> AuditLog:
    """A school's own log, for its administrator on its host."""
    return AuditLog([AuditSource(schema, filters.where())], {schema: school_name})


def public_usernames_in_scope(user: User) -> QuerySet[User] | None:
    """Public accounts whose entries `user` may read: those under the user's region;
    None (no limit) for a platform operator."""
    from accounts.roles import Role

    if user.region_id:
        prefix = user.region.prefix  # type: ignore[union-attr]
        return User.objects.filter(region__code__startswith=prefix).values("username")  # type: ignore[return-value]
    if Role.PLATFORM_OPERATOR in user.role_codes:
        return None
    return User.objects.filter(pk=user.pk).values("username")  # type: ignore[return-value]


def audit_log_bureau(
    *, user: User, school_schema: str | None, filters: AuditFilters, school_names: Mapping[str, str]
) -> AuditLog:
    """The bureau's view. With a school (already checked against access_schools): the
    school's own entries, read inside its schema, plus the public entries about it. Without
    one: the public entries of the accounts the user governs (the bureau's own)."""
    where = filters.where()
    if school_schema:
        sources = [
            AuditSource(school_schema, where),
            AuditSource("public", where & Q(school=school_schema)),
        ]
    else:
        scope = public_usernames_in_scope(user)
        own = where if scope is None else where & Q(username__in=scope)
        sources = [AuditSource("public", own)]
    return AuditLog(sources, school_names)


@dataclass(frozen=True)
class ScopedSchool:
    """A school the acting bureau user governs, as plain values (read in public)."""

    id: int
    schema: str
    name: str


def bureau_schools(user: User) -> list[ScopedSchool]:
    from tenants.scope import schools_governed

    rows = schools_governed(user=user).order_by("code").values_list("pk", "schema_name", "name")
    return [ScopedSchool(pk, schema, name) for pk, schema, name in rows]


def bureau_school(user: User, raw_school_id: object) -> ScopedSchool | None:
    """The school chosen by `?school_id=`: None when none is chosen, 404 when the id is
    not one of the user's schools (another county's school looks like no school)."""
    raw = str(raw_school_id or "").strip()
    if not raw:
        return None
    chosen = [s for s in bureau_schools(user) if raw.isdigit() and s.id == int(raw)]
    if not chosen:
        raise Http404
    return chosen[0]


# -- CSV ---------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """Before/after: text as the caller wrote it for people, else the stored JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if value else ""


def audit_csv(rows: list[dict[str, Any]], headers: list[str]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly; cells go
    through common.spreadsheets, so none is run as a formula."""
    lines: list[list[object]] = [list(headers)]
    for r in rows:
        lines.append(
            [
                timezone.localtime(r["at"]).strftime("%Y-%m-%d %H:%M:%S"),
                r["username"],
                r["user_display"],
                r["ip"] or "",
                r["school_name"],
                r["action"],
                r["object_type"],
                r["object_id"],
                r["object_repr"],
                _cell(r["before"]),
                _cell(r["after"]),
                r["method"],
                r["path"],
                r["status"] if r["status"] is not None else "",
            ]
        )
    # Imported here: common.spreadsheets loads openpyxl, and this module is imported by
    # every process at start-up (AccountsConfig.ready).
    from common.spreadsheets import csv_text

    return ("\ufeff" + csv_text(lines)).encode("utf-8")
