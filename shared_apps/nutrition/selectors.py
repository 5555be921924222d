"""Reads of the programme's public tables: programme periods, the claims of a month and
their figures, and the checks against false claims (虚报冒领).

What 在读 is belongs to the registry above this layer: the callers pass its values
(registry.counts through the school's code, the registry facade's count_definitions()
on the bureau host), so there is still one definition."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q

from shared_apps.nutrition.calendar import Month, Period, month_figure, school_days, standards
from shared_apps.nutrition.models import BeneficiaryClaim, ProgrammeSchool
from shared_apps.student_index.models import IndexEntry


def programme_periods(school_ids: Iterable[int]) -> dict[int, list[Period]]:
    """{school id: [(since, until)]} of every period each school was in the programme."""
    periods: dict[int, list[Period]] = defaultdict(list)
    rows = ProgrammeSchool.objects.filter(school_id__in=list(school_ids)).order_by("since")
    for school_id, since, until in rows.values_list("school_id", "since", "until"):
        periods[school_id].append((since, until))
    return dict(periods)


def in_programme(*, school_id: int, on: dt.date) -> bool:
    return (
        ProgrammeSchool.objects.filter(school_id=school_id, since__lte=on)
        .filter(Q(until__isnull=True) | Q(until__gt=on))
        .exists()
    )


def open_period(*, school_id: int) -> ProgrammeSchool | None:
    return ProgrammeSchool.objects.filter(school_id=school_id, until__isnull=True).first()


def month_claims(*, school_ids: Iterable[int], month: Month) -> list[BeneficiaryClaim]:
    """The claims open on at least one day of `month`."""
    return list(
        BeneficiaryClaim.objects.filter(school_id__in=list(school_ids), since__lte=month.last)
        .filter(Q(until__isnull=True) | Q(until__gt=month.first))
        .order_by("school_id", "since", "pk")
    )


def open_claim_uuids(*, school_id: int) -> set[uuid.UUID]:
    return set(
        BeneficiaryClaim.objects.filter(school_id=school_id, until__isnull=True).values_list(
            "student_uuid", flat=True
        )
    )


@dataclass(frozen=True)
class SchoolMonth:
    """One school's month for the county (no names: the public claims only)."""

    school_id: int
    school_days: int  # the month's school days on which the school was in the programme
    beneficiaries: int  # pupils with at least one day claimed
    pupil_days: int  # school days claimed, all pupils together
    amount: Decimal


def county_month(*, school_ids: Sequence[int], month: Month) -> dict[int, SchoolMonth]:
    """Each programme school's month (schools with neither a period nor a claim in the
    month are left out)."""
    days = school_days(month)
    table = standards()
    periods = programme_periods(school_ids)
    by_school: dict[int, list[BeneficiaryClaim]] = defaultdict(list)
    for claim in month_claims(school_ids=school_ids, month=month):
        by_school[claim.school_id].append(claim)
    out: dict[int, SchoolMonth] = {}
    for school_id in school_ids:
        programme = periods.get(school_id, [])
        claims = by_school.get(school_id, [])
        open_days = sum(
            1 for d in days if any(s <= d and (u is None or d < u) for s, u in programme)
        )
        if not open_days and not claims:
            continue
        figures = [
            month_figure(
                month=month, claim=(c.since, c.until), programme=programme, days=days, table=table
            )
            for c in claims
        ]
        out[school_id] = SchoolMonth(
            school_id=school_id,
            school_days=open_days,
            beneficiaries=len(
                {c.student_uuid for c, f in zip(claims, figures, strict=True) if f.days}
            ),
            pupil_days=sum(f.days for f in figures),
            amount=sum((f.amount for f in figures), Decimal("0")),
        )
    return out


# -- the checks against false claims ---------------------------------------------------------

TWO_SCHOOLS = "two_schools"
NOT_IN_SCHOOL = "not_in_school"
# The other side of NOT_IN_SCHOOL after a transfer: a pupil of this school (where the
# index has the record now) is still claimed by the school it came from.
CLAIMED_BY_FORMER = "claimed_by_former"
# How the other claim was found to be the same child.
MATCH_RECORD = "record"  # the same registry record (its uuid)
MATCH_ID = "id"  # the same ID number
MATCH_NAME = "name"  # the same name, sex and birth date
MATCH_LABELS = {
    MATCH_RECORD: "同一学籍",
    MATCH_ID: "身份证件号相同",
    MATCH_NAME: "姓名、性别、出生日期相同",
}


@dataclass(frozen=True)
class ClaimFlag:
    """An open claim that cannot be right. `kind` TWO_SCHOOLS: another school claims the
    same child (`other_school_id`, found by `match`); NOT_IN_SCHOOL: the pupil is no longer
    在读 at the claiming school — `entry_school_id` is where the index has the record now
    (None: no record), `audit_state`/`status` its state there; CLAIMED_BY_FORMER: the
    same claim seen from `school_id`, where the record is now, while `other_school_id`
    (the school it left) still claims it."""

    kind: str
    school_id: int
    student_uuid: uuid.UUID
    since: dt.date
    other_school_id: int | None = None
    other_since: dt.date | None = None
    match: str = ""
    entry_school_id: int | None = None
    audit_state: str = ""
    status: str = ""


def claim_flags(
    *, school_ids: Sequence[int], in_school_audit: str, in_school_status: str
) -> list[ClaimFlag]:
    """Every flag of the open claims of these schools, in one statement over the public
    tables: claims joined to each other by record, ID digest or name digest, and to the
    cross-school index for where and how the record stands now. A pair of schools shows
    up once from each side."""
    if not school_ids:
        return []
    claim = BeneficiaryClaim._meta.db_table
    entry = IndexEntry._meta.db_table
    query = f"""
        SELECT 'two_schools', c.school_id, c.student_uuid, c.since, o.school_id, o.since,
               CASE WHEN o.student_uuid = c.student_uuid THEN 'record'
                    WHEN o.id_hash = c.id_hash THEN 'id' ELSE 'name' END,
               NULL::integer, '', ''
        FROM {claim} c
        JOIN {claim} o ON o.until IS NULL AND o.school_id <> c.school_id
             AND (o.student_uuid = c.student_uuid OR o.id_hash = c.id_hash
                  OR o.name_hash = c.name_hash)
        WHERE c.until IS NULL AND c.school_id = ANY(%(schools)s)
        UNION ALL
        SELECT 'not_in_school', c.school_id, c.student_uuid, c.since, NULL, NULL, '',
               e.school_id, COALESCE(e.audit_state, ''), COALESCE(e.status, '')
        FROM {claim} c
        LEFT JOIN {entry} e ON e.student_uuid = c.student_uuid
        WHERE c.until IS NULL AND c.school_id = ANY(%(schools)s)
          AND (e.id IS NULL OR e.school_id <> c.school_id
               OR e.audit_state <> %(audit)s OR e.status <> %(status)s)
        UNION ALL
        SELECT 'claimed_by_former', e.school_id, c.student_uuid, c.since, c.school_id, c.since,
               '', e.school_id, e.audit_state, e.status
        FROM {claim} c
        JOIN {entry} e ON e.student_uuid = c.student_uuid
        WHERE c.until IS NULL AND e.school_id = ANY(%(schools)s) AND e.school_id <> c.school_id
        ORDER BY 2, 4, 3, 1
    """
    with connection.cursor() as cursor:
        cursor.execute(
            query,
            {"schools": list(school_ids), "audit": in_school_audit, "status": in_school_status},
        )
        rows = cursor.fetchall()
    return [
        ClaimFlag(
            kind=kind,
            school_id=school_id,
            student_uuid=student_uuid,
            since=since,
            other_school_id=other_id,
            other_since=other_since,
            match=match,
            entry_school_id=entry_school,
            audit_state=audit_state,
            status=status,
        )
        for (
            kind,
            school_id,
            student_uuid,
            since,
            other_id,
            other_since,
            match,
            entry_school,
            audit_state,
            status,
        ) in rows
    ]


def open_claim_counts(*, school_ids: Sequence[int]) -> dict[int, int]:
    """{school id: open claims} (schools without any left out)."""
    rows = (
        BeneficiaryClaim.objects.filter(school_id__in=list(school_ids), until__isnull=True)
        .values("school_id")
        .annotate(n=Count("id"))
        .values_list("school_id", "n")
    )
    return dict(rows)


def flag_problem(
    flag: ClaimFlag, *, school_names: Mapping[int, str], state_label: Callable[[str, str], str]
) -> str:
    """What is wrong with a flagged claim, for people (both schools and the county read
    the same words). `state_label(audit_state, status)` is the registry's line label."""
    if flag.kind == CLAIMED_BY_FORMER:
        former = school_names.get(flag.other_school_id or 0, "原学校")
        return f"已转入本校，{former}仍将该学生列为受益学生"
    if flag.kind == TWO_SCHOOLS:
        other = school_names.get(flag.other_school_id or 0, "另一学校")
        since = f"{flag.other_since:%Y-%m-%d}" if flag.other_since else ""
        return f"{other}自{since}起也申报该学生为受益学生（{MATCH_LABELS[flag.match]}）"
    if flag.entry_school_id is None:
        return "学籍已删除，仍在受益学生名单中"
    if flag.entry_school_id != flag.school_id:
        went = school_names.get(flag.entry_school_id, "其他学校")
        return f"已转学至{went}，仍在原学校的受益学生名单中"
    state = state_label(flag.audit_state, flag.status)
    return f"学籍状态为“{state}”，已不在读，仍在受益学生名单中"


def flag_school_ids(flags: Iterable[ClaimFlag]) -> set[int]:
    """The schools a list of flags names besides the claiming ones."""
    ids = {f.other_school_id for f in flags} | {f.entry_school_id for f in flags}
    return {i for i in ids if i}
