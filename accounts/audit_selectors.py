"""Reading the audit log: filters, the schemas a user may read, pages of entries, CSV.

The pages and the API (accounts.audit_views, accounts.audit_apis) read through `AuditLog`,
which reads each schema in its own context and hands out plain dicts with ID numbers and
phones masked. Writing the log is accounts.audit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.audit import ACTIONS
from accounts.models import AuditEntry, User
from common.masking import mask_id_number, mask_phone

EXPORT_MAX_ROWS = 100_000


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
    # Imported here: common.spreadsheets loads openpyxl, which only the export needs (the
    # log's pages and API import this module too).
    from common.spreadsheets import csv_text

    return ("\ufeff" + csv_text(lines)).encode("utf-8")
