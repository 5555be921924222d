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

Lists and exports of the log show ID numbers and phones masked, like every other list;
reading the log (filters, scopes, pages, CSV) is accounts.audit_selectors.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.sessions import client_ip

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
    # by accounts.login.login_attempt so that the log tells guessing from typos.
    unknown = request is not None and getattr(_http(request), "_login_unknown_user", False)
    # A wrong password when a signed-in user confirms a sensitive action
    # (accounts.login.password_confirm): the same failure, told apart in the log.
    reauth = request is not None and getattr(_http(request), "_login_reauth", False)
    # A wrong old password when changing the password (accounts.login.password_change).
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
