"""The county's admissions results (统一招生录取名单) and its diff report over its schools
(issue 18 point 4, domain §3.10).

The county publishes a list per school (one file for one school, or the admissions
system's one county-wide export with a school column, split here per school); each
school's part is staged in that school's schema through rosters.facade, which also
answers each school's diff as counts or masked rows, and keeps the county's exceptions
(例外) beside the school's list. Only schools of the officer's own region are reached
(selectors.access_schools); a county-wide file naming any other school is refused whole.
Every write is audited in the bureau's log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.audit import WRITE, audit_record
from accounts.models import User
from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.bureau.selectors import access_school, access_schools
from tenant_apps.rosters import facade as rosters
from tenants.models import School

OBJECT_TYPE = "admissions"
CODE_HEADERS = ("学校标识码", "学校代码", "学校编码", "录取学校代码")
NAME_HEADERS = ("录取学校", "学校名称", "学校", "就读学校")
MSG_NO_SCHOOL_COLUMN = (
    "全县录取名单中没有找到学校列：请在名单中保留“学校标识码”或“学校名称”列，或按学校分别上传。"
)
MSG_UNKNOWN_SCHOOLS = "以下行的学校不是本辖区已开通的学校，整份名单未导入：{rows}。"
MSG_NO_SCHOOL_VALUE = "第{row}行没有填写学校"
MSG_NOT_FOUND = "未找到该学校。"
UNKNOWN_SHOWN = 10


@dataclass(frozen=True)
class PublishedPart:
    school_id: int
    school_name: str
    rows: int
    admitted: int
    unreadable: int


def _school_column(headers: list[str]) -> tuple[int, str] | None:
    """(column, "code" or "name") of the county file's school column."""
    clean = [h.replace(" ", "") for h in headers]
    for kind, names in (("code", CODE_HEADERS), ("name", NAME_HEADERS)):
        for want in names:
            for ci, h in enumerate(clean):
                if h == want or (kind == "code" and want in h):
                    return ci, kind
    return None


def _audit_publish(request: Any, school: School, part: rosters.Published, label: str) -> None:
    audit_record(
        request=request,
        action=WRITE,
        object_type=OBJECT_TYPE,
        object_id=school.pk,
        object_repr=f"{school.name}：发布{label}录取名单，{part.admitted}人",
        after={"rows": part.rows, "admitted": part.admitted, "unreadable": part.unreadable},
    )


def school_publish(
    *,
    user: User,
    school_id: int,
    stage: str,
    entry_year: object,
    filename: str,
    data: bytes,
    request: Any = None,
) -> PublishedPart:
    """One school's list from a file of its own."""
    year = rosters.intake_check(stage, entry_year)
    school = access_school(user=user, school_id=school_id)
    if school is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found", extra={"school": [MSG_NOT_FOUND]})
    with transaction.atomic():
        part = rosters.admissions_publish(
            schema_name=school.schema_name,
            stage=stage,
            entry_year=year,
            filename=filename,
            data=data,
            actor=Actor.of(user),
        )
        _audit_publish(request, school, part, rosters.intake_label(stage, year))
    return PublishedPart(school.pk, school.name, part.rows, part.admitted, part.unreadable)


def county_publish(
    *, user: User, stage: str, entry_year: object, filename: str, data: bytes, request: Any = None
) -> list[PublishedPart]:
    """The admissions system's one county-wide list, split by its school column (学校标识码,
    else 学校名称) and published to each school in ONE transaction: a row naming a school
    outside the officer's region, or none, refuses the whole file."""
    year = rosters.intake_check(stage, entry_year)
    headers, rows = rosters.roster_read(filename=filename, data=data)
    column = _school_column(headers)
    if column is None:
        raise ApplicationError(
            MSG_NO_SCHOOL_COLUMN, code="invalid", extra={"file": [MSG_NO_SCHOOL_COLUMN]}
        )
    ci, kind = column
    schools = list(access_schools(user=user))
    by_key = {
        (s.code if kind == "code" else s.name): s for s in schools if s.code or kind == "name"
    }
    parts: dict[int, list[list[object]]] = {}
    unknown: list[str] = []
    for row_no, cells in rows:
        value = str(cells[ci] or "").strip() if ci < len(cells) else ""
        school = by_key.get(value)
        if school is None:
            unknown.append(
                f"第{row_no}行（“{value}”）" if value else MSG_NO_SCHOOL_VALUE.format(row=row_no)
            )
            continue
        parts.setdefault(school.pk, []).append(cells)
    if unknown:
        shown = "、".join(unknown[:UNKNOWN_SHOWN]) + (
            f"等{len(unknown)}行" if len(unknown) > UNKNOWN_SHOWN else ""
        )
        message = MSG_UNKNOWN_SCHOOLS.format(rows=shown)
        raise ApplicationError(message, code="invalid", extra={"file": [message]})
    label = rosters.intake_label(stage, year)
    out: list[PublishedPart] = []
    actor = Actor.of(user)
    with transaction.atomic():
        for school in schools:
            school_rows = parts.get(school.pk)
            if not school_rows:
                continue
            part = rosters.admissions_publish(
                schema_name=school.schema_name,
                stage=stage,
                entry_year=year,
                filename=f"{school.name}录取名单.xlsx",
                data=rosters.roster_part(headers, school_rows),
                actor=actor,
            )
            _audit_publish(request, school, part, label)
            out.append(
                PublishedPart(school.pk, school.name, part.rows, part.admitted, part.unreadable)
            )
    return out


# -- the report -------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolLine:
    school_id: int
    school_name: str
    counts: rosters.IntakeCounts | None  # None: no list published for the intake


def county_report(*, user: User, stage: str, entry_year: int) -> list[SchoolLine]:
    """Every school of the officer's region with its diff for the intake, counted: per
    school two queries and the diff in memory (≤ 10 s for 100 schools × 500 pupils,
    bench/rosters.py)."""
    return [
        SchoolLine(
            s.pk,
            s.name,
            rosters.admissions_counts(
                schema_name=s.schema_name, stage=stage, entry_year=entry_year
            ),
        )
        for s in access_schools(user=user).order_by("code", "name")
    ]


def school_report(
    *, user: User, school_id: int, stage: str, entry_year: int
) -> tuple[School, rosters.DiffShown | None, list[rosters.OverrideShown]] | None:
    school = access_school(user=user, school_id=school_id)
    if school is None:
        return None
    diff, overrides = rosters.admissions_detail(
        schema_name=school.schema_name, stage=stage, entry_year=entry_year
    )
    return school, diff, overrides


# -- exceptions -------------------------------------------------------------------------


def override_grant(
    *,
    user: User,
    school_id: int,
    stage: str,
    entry_year: object,
    name: str,
    sex: str,
    birth_date: dt.date | None,
    id_number: str,
    reason: str,
    request: Any = None,
) -> rosters.OverrideShown:
    year = rosters.intake_check(stage, entry_year)
    school = access_school(user=user, school_id=school_id)
    if school is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    with transaction.atomic():
        shown = rosters.override_grant(
            schema_name=school.schema_name,
            stage=stage,
            entry_year=year,
            name=name,
            sex=sex,
            birth_date=birth_date,
            id_number=id_number,
            reason=reason,
            actor=Actor.of(user),
        )
        audit_record(
            request=request,
            action=WRITE,
            object_type="admission_override",
            object_id=f"{school.pk}:{shown.pk}",
            object_repr=f"{school.name}：{rosters.intake_label(stage, year)}录取例外 "
            f"{shown.person.name} {shown.person.id_number}".strip(),
            after={"reason": shown.reason, "state": "granted"},
        )
    return shown


def override_revoke(
    *, user: User, school_id: int, override_id: int, reason: str, request: Any = None
) -> rosters.OverrideShown:
    school = access_school(user=user, school_id=school_id)
    if school is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    with transaction.atomic():
        shown = rosters.override_revoke(
            schema_name=school.schema_name,
            override_id=override_id,
            reason=reason,
            actor=Actor.of(user),
        )
        audit_record(
            request=request,
            action=WRITE,
            object_type="admission_override",
            object_id=f"{school.pk}:{shown.pk}",
            object_repr=f"{school.name}：撤销录取例外 {shown.person.name} {shown.person.id_number}",
            before={"reason": shown.reason, "state": "granted"},
            after={"reason": shown.revoke_reason, "state": "revoked"},
        )
    return shown
