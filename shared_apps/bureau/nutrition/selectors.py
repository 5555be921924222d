"""Reads of 营养改善计划 for the officer's own schools (bureau.selectors.access_schools)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import User
from shared_apps.bureau.selectors import access_schools
from shared_apps.nutrition import selectors as nutrition
from shared_apps.nutrition.calendar import Month
from tenant_apps.registry.facade import count_definitions, masked_students
from tenant_apps.registry.facade import line_of as registry_line_of
from tenants.models import School


def _county_name(school: School) -> str:
    county = school.county
    return county.name if county is not None else ""


@dataclass(frozen=True)
class ProgrammeRow:
    school_id: int
    school_name: str
    county_name: str
    since: dt.date | None  # the open period's first day; None: not in the programme
    beneficiaries: int  # open claims today
    flagged: int  # of those, claims the checks flag


def programme_schools(*, user: User) -> list[ProgrammeRow]:
    """Every school of the officer, programme schools first, with its open claims."""
    schools = list(access_schools(user=user).order_by("county_id", "code"))
    ids = [s.pk for s in schools]
    periods = nutrition.programme_periods(ids)
    open_counts = nutrition.open_claim_counts(school_ids=ids)
    rules = count_definitions()
    flagged: dict[int, set[uuid.UUID]] = defaultdict(set)
    for f in nutrition.claim_flags(
        school_ids=ids,
        in_school_audit=rules.in_school_audit,
        in_school_status=rules.in_school_status,
    ):
        if f.kind != nutrition.CLAIMED_BY_FORMER:
            flagged[f.school_id].add(f.student_uuid)
    rows = []
    for s in schools:
        open_since = next((a for a, b in periods.get(s.pk, []) if b is None), None)
        rows.append(
            ProgrammeRow(
                school_id=s.pk,
                school_name=s.name,
                county_name=_county_name(s),
                since=open_since,
                beneficiaries=open_counts.get(s.pk, 0),
                flagged=len(flagged.get(s.pk, ())),
            )
        )
    rows.sort(key=lambda r: (r.since is None, r.county_name, r.school_name))
    return rows


@dataclass(frozen=True)
class CountRow:
    school_name: str
    county_name: str
    school_days: int
    beneficiaries: int
    pupil_days: int
    amount: Decimal


@dataclass(frozen=True)
class MonthCounts:
    month: Month
    rows: list[CountRow]
    beneficiaries: int
    pupil_days: int
    amount: Decimal


def month_counts(*, user: User, month: Month) -> MonthCounts:
    """Each programme school's month: school days in the programme, beneficiaries, pupil
    days and amount (the public claims only; no names leave the schools)."""
    schools = {s.pk: s for s in access_schools(user=user).order_by("county_id", "code")}
    figures = nutrition.county_month(school_ids=list(schools), month=month)
    rows = [
        CountRow(
            school_name=schools[pk].name,
            county_name=_county_name(schools[pk]),
            school_days=f.school_days,
            beneficiaries=f.beneficiaries,
            pupil_days=f.pupil_days,
            amount=f.amount,
        )
        for pk, f in figures.items()
    ]
    return MonthCounts(
        month=month,
        rows=rows,
        beneficiaries=sum(r.beneficiaries for r in rows),
        pupil_days=sum(r.pupil_days for r in rows),
        amount=sum((r.amount for r in rows), Decimal("0")),
    )


@dataclass(frozen=True)
class CountyFlag:
    school_name: str
    name: str  # masked, 张*三
    since: dt.date
    problem: str


def county_flags(*, user: User) -> list[CountyFlag]:
    """The checks' flags on the open claims of the officer's schools, each with the
    pupil's masked name from the claiming school (one schema switch per school)."""
    schools = {s.pk: s for s in access_schools(user=user)}
    rules = count_definitions()
    # The county lists each claim under the school that makes it: the receiving school's
    # view of a transferred pupil's old claim is the same claim again.
    flags = [
        f
        for f in nutrition.claim_flags(
            school_ids=list(schools),
            in_school_audit=rules.in_school_audit,
            in_school_status=rules.in_school_status,
        )
        if f.kind != nutrition.CLAIMED_BY_FORMER
    ]
    if not flags:
        return []
    by_school: dict[int, set[uuid.UUID]] = defaultdict(set)
    for f in flags:
        by_school[f.school_id].add(f.student_uuid)
    masked: dict[tuple[int, uuid.UUID], str] = {}
    for school_id, uuids in by_school.items():
        school = schools[school_id]
        for ident, m in masked_students(
            schema_name=school.schema_name, school_name=school.name, uuids=uuids
        ).items():
            masked[(school_id, ident)] = m.name
    names = dict(
        School.objects.filter(pk__in=nutrition.flag_school_ids(flags)).values_list("pk", "name")
    )
    lines = {line.key: line.label for line in rules.lines}

    def state_label(audit_state: str, status: str) -> str:
        return lines.get(registry_line_of(audit_state=audit_state, status=status), "已删除")

    out = []
    for f in flags:
        problem = nutrition.flag_problem(f, school_names=names, state_label=state_label)
        out.append(
            CountyFlag(
                school_name=schools[f.school_id].name,
                name=masked.get((f.school_id, f.student_uuid), "—"),
                since=f.since,
                problem=problem,
            )
        )
    return out
