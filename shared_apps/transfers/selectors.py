"""Reads of business cases, always scoped by the caller (a school id or a region)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from shared_apps.transfers.models import Case, CaseState
from shared_apps.transfers.services import region_prefix


def case_open_for(student_uuid: uuid.UUID | str | None) -> Case | None:
    """ "在办业务": the open case of that student record, if any."""
    if not student_uuid:
        return None
    return Case.objects.filter(student_uuid=student_uuid, state=CaseState.OPEN).first()


def cases_open_for(student_uuids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Case]:
    """The open cases of many students in one query (rollover's dry run, lists)."""
    wanted = list(student_uuids)
    return {
        c.student_uuid: c
        for c in Case.objects.filter(student_uuid__in=wanted, state=CaseState.OPEN)
        if c.student_uuid is not None
    }


def _owner_school_q(school_id: int) -> Q:
    # The chain is JSON; a case waits for a school when its current step names it. The
    # few open cases of a school are filtered in Python after this coarse match.
    return (
        Q(school_id=school_id)
        | Q(other_school_id=school_id)
        | Q(chain__contains=[{"school_id": school_id}])
    )


def cases_for_school(
    school_id: int,
    *,
    direction: str | None = None,
    state: str | None = None,
    kind: str | None = None,
) -> QuerySet[Case]:
    """Cases a school is part of: it applied (incoming transfers, in-school changes),
    it is the sending school (outgoing), or one of its steps is in the chain.
    direction: "incoming" (applied by it, a transfer or intake into it), "outgoing" (it
    is the sending school), "in_school" (its own status changes), "waiting" (open and its
    turn now)."""
    from shared_apps.transfers.models import CaseKind

    between = [CaseKind.TRANSFER, CaseKind.INTAKE]
    qs = Case.objects.filter(_owner_school_q(school_id))
    if direction == "incoming":
        qs = qs.filter(school_id=school_id, kind__in=between)
    elif direction == "outgoing":
        qs = qs.filter(other_school_id=school_id)
    elif direction == "in_school":
        qs = qs.filter(school_id=school_id).exclude(kind__in=between)
    elif direction == "waiting":
        ids = [c.pk for c in qs.filter(state=CaseState.OPEN) if case_waits_for_school(c, school_id)]
        qs = Case.objects.filter(pk__in=ids)
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("school", "other_school").order_by("-created_at")


def case_waits_for_school(case: Case, school_id: int) -> bool:
    current = case.current
    return bool(
        current and current.get("owner") == "school" and current.get("school_id") == school_id
    )


def case_waits_for_region(case: Case, region_code: str | None) -> bool:
    current = case.current
    if not current or current.get("owner") != "bureau" or not region_code:
        return False
    return str(current.get("region") or "").startswith(region_prefix(region_code))


def case_for_school(school_id: int, case_id: uuid.UUID | str) -> Case | None:
    """One case the school is part of; None (404) for anyone else's."""
    try:
        key = uuid.UUID(str(case_id))
    except ValueError:
        return None
    case = Case.objects.filter(pk=key).select_related("school", "other_school").first()
    if case is None:
        return None
    if school_id in (case.school_id, case.other_school_id) or any(
        s.get("school_id") == school_id for s in case.chain
    ):
        return case
    return None


def _region_q(prefix: str) -> Q:
    return Q(school__county__code__startswith=prefix) | Q(
        other_school__county__code__startswith=prefix
    )


def cases_for_region(
    region_prefix_or_code: str,
    kind: str | None = None,
    school_id: int | None = None,
    overdue: bool | None = None,
    *,
    state: str | None = CaseState.OPEN,
    waiting: bool | None = None,
    today: dt.date | None = None,
) -> list[Case]:
    """Cases of the region's schools (either party), newest first. `overdue` keeps only
    cases past their current deadline (True) or within it (False); `waiting` only those
    whose current step is this region's bureau (True)."""
    prefix = (
        region_prefix(region_prefix_or_code)
        if len(region_prefix_or_code) == 12
        else (region_prefix_or_code)
    )
    today = today or timezone.localdate()
    qs = Case.objects.filter(_region_q(prefix)).select_related("school", "other_school")
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if school_id:
        qs = qs.filter(Q(school_id=school_id) | Q(other_school_id=school_id))
    if overdue is True:
        qs = qs.filter(state=CaseState.OPEN, due_on__lt=today)
    elif overdue is False:
        qs = qs.exclude(due_on__lt=today)
    cases = list(qs.order_by("-created_at"))
    if waiting:
        cases = [c for c in cases if _waits_or_escalated(c, prefix)]
    return cases


def _waits_or_escalated(case: Case, prefix: str) -> bool:
    """The bureau's own step, or a school's overdue step escalated to it (the school's
    county bureau sees it flagged in its queue)."""
    current = case.current
    if not current:
        return False
    if current.get("owner") == "bureau":
        return str(current.get("region") or "").startswith(prefix)
    if not case.escalated:
        return False
    school_id = current.get("school_id")
    for school in (case.school, case.other_school):
        if school is not None and school.pk == school_id:
            return str(school.county_id or "").startswith(prefix)
    return False


def case_for_region(region_code: str, case_id: uuid.UUID | str) -> Case | None:
    try:
        key = uuid.UUID(str(case_id))
    except ValueError:
        return None
    prefix = region_prefix(region_code)
    return (
        Case.objects.filter(_region_q(prefix), pk=key)
        .select_related("school", "other_school")
        .first()
    )


@dataclass(frozen=True)
class StepView:
    index: int
    label: str
    owner: str
    state: str  # "done", "current", "pending", "rejected"


def case_steps_view(case: Case) -> list[StepView]:
    views = []
    for i, step in enumerate(case.chain):
        if case.state == CaseState.DONE or i < case.step:
            state = "done"
        elif i == case.step:
            state = {"open": "current", "rejected": "rejected", "withdrawn": "withdrawn"}[
                case.state
            ]
        else:
            state = "pending"
        views.append(
            StepView(i, str(step.get("label", "")), str(step.get("owner_name", "")), state)
        )
    return views


def case_is_overdue(case: Case, today: dt.date | None = None) -> bool:
    today = today or timezone.localdate()
    return case.state == CaseState.OPEN and case.due_on is not None and case.due_on < today


def actor_labels(labels: Iterable[str]) -> dict[str, str]:
    """Case actors ("username@schema", as steps and applications record them) as people
    read them: "测试甲小学 · 姓名（registrar）", "浏阳市教育局 · 姓名（liuyang）"."""
    from accounts.people import people_labels

    return people_labels(labels)
