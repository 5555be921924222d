"""Reads of 营养改善计划受益学生 in this school: the classes and their 在读 pupils with
their ticks, the monthly roster (names stay here; days and amounts from the public
calendar) and the checks' flags on this school's claims."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q

from shared_apps.nutrition import selectors as nutrition
from shared_apps.nutrition.calendar import Month, month_figure, school_days, standards
from tenant_apps.registry import counts
from tenant_apps.registry.facade import count_definitions
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.registry.students.services import current_school
from tenant_apps.rosters.models import Beneficiary
from tenants.models import School


@dataclass(frozen=True)
class ClassRow:
    id: int
    name: str
    in_school: int
    ticked: int


def programme_classes() -> list[ClassRow]:
    """Every class with pupils 在读, with how many of them are ticked."""
    ticked = Beneficiary.objects.filter(student_id=OuterRef("students__pk"), until__isnull=True)
    rows = (
        SchoolClass.objects.annotate(
            n_in=Count("students", filter=counts.in_school_q("students__")),
            n_ticked=Count(
                "students",
                filter=counts.in_school_q("students__") & Q(Exists(ticked)),
            ),
        )
        .filter(n_in__gt=0)
        .order_by("class_no")
    )
    return [ClassRow(c.pk, c.name, c.n_in, c.n_ticked) for c in rows]


@dataclass(frozen=True)
class PupilRow:
    id: int
    name: str
    number_in_class: int | None
    ticked: bool
    since: dt.date | None


def class_pupils(class_id: int) -> list[PupilRow]:
    """The class's pupils 在读, in class order, each with its open tick."""
    open_since = {
        b.student_id: b.since
        for b in Beneficiary.objects.filter(
            until__isnull=True, student__school_class_id=class_id
        ).only("student_id", "since")
    }
    pupils = (
        Student.objects.filter(counts.IN_SCHOOL, school_class_id=class_id)
        .order_by("number_in_class", "pk")
        .values_list("pk", "name", "number_in_class")
    )
    return [
        PupilRow(pk, name, number, pk in open_since, open_since.get(pk))
        for pk, name, number in pupils
    ]


@dataclass(frozen=True)
class RosterRow:
    student_id: int
    name: str
    class_name: str
    since: dt.date
    until: dt.date | None
    days: int
    standards: str  # "3.00" or "3.00/4.00" when the standard changed in the month
    amount: Decimal


@dataclass(frozen=True)
class MonthRoster:
    month: Month
    school_days: int  # the month's school days on which the school was in the programme
    rows: list[RosterRow]
    pupils: int
    pupil_days: int
    amount: Decimal


def month_roster(month: Month) -> MonthRoster:
    """月度受益学生名册: each beneficiary ticked on at least one day of the month, in class
    order, with the school days counted, the standard(s) and the amount."""
    school_id = current_school().id
    periods = nutrition.programme_periods([school_id]).get(school_id, [])
    days = school_days(month)
    table = standards()
    rows = (
        Beneficiary.objects.filter(since__lte=month.last)
        .filter(Q(until__isnull=True) | Q(until__gt=month.first))
        .select_related("student__school_class")
        .order_by("student__school_class__class_no", "student__number_in_class", "since")
    )
    out: list[RosterRow] = []
    for b in rows:
        figure = month_figure(
            month=month, claim=(b.since, b.until), programme=periods, days=days, table=table
        )
        klass = b.student.school_class
        out.append(
            RosterRow(
                student_id=b.student_id,
                name=b.student.name,
                class_name=klass.name if klass else "",
                since=b.since,
                until=b.until,
                days=figure.days,
                standards="/".join(f"{s:.2f}" for s in figure.standards),
                amount=figure.amount,
            )
        )
    open_days = sum(1 for d in days if any(s <= d and (u is None or d < u) for s, u in periods))
    return MonthRoster(
        month=month,
        school_days=open_days,
        rows=out,
        pupils=len({r.student_id for r in out if r.days}),
        pupil_days=sum(r.days for r in out),
        amount=sum((r.amount for r in out), Decimal("0")),
    )


@dataclass(frozen=True)
class FlagRow:
    student_id: int | None  # to end the tick from the flag (None: no open tick here)
    name: str
    class_name: str
    since: dt.date
    problem: str  # what is wrong, for people


def school_flags() -> list[FlagRow]:
    """The checks' flags on this school's open claims: the same child claimed by another
    school (named), or a beneficiary no longer 在读 here (left, transferred, graduated)."""
    school_id = current_school().id
    rules = count_definitions()
    flags = nutrition.claim_flags(
        school_ids=[school_id],
        in_school_audit=rules.in_school_audit,
        in_school_status=rules.in_school_status,
    )
    if not flags:
        return []
    uuids = {f.student_uuid for f in flags}
    pupils: dict[uuid.UUID, Beneficiary] = {
        b.student_uuid: b
        for b in Beneficiary.objects.filter(
            student_uuid__in=uuids, until__isnull=True
        ).select_related("student__school_class")
    }
    # A pupil who transferred in and is still claimed by the former school has no tick
    # here: name it from the school's own record.
    arrived = {
        s.identifier: s
        for s in Student.objects.filter(
            identifier__in=[f.student_uuid for f in flags if f.kind == nutrition.CLAIMED_BY_FORMER]
        ).select_related("school_class")
    }
    names = dict(
        School.objects.filter(pk__in=nutrition.flag_school_ids(flags)).values_list("pk", "name")
    )
    lines = {line.key: line.label for line in counts.status_lines()}

    def state_label(audit_state: str, status: str) -> str:
        return lines.get(counts.line_of(audit_state=audit_state, status=status), "已删除")

    out: list[FlagRow] = []
    for f in flags:
        own = pupils.get(f.student_uuid) if f.kind != nutrition.CLAIMED_BY_FORMER else None
        student = own.student if own else arrived.get(f.student_uuid)
        klass = student.school_class if student else None
        problem = nutrition.flag_problem(f, school_names=names, state_label=state_label)
        out.append(
            FlagRow(
                student_id=own.student_id if own else None,
                name=student.name if student else "",
                class_name=klass.name if klass else "",
                since=f.since,
                problem=problem,
            )
        )
    return out
