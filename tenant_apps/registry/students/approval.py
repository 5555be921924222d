"""The two-level registration audit of new students (学籍注册审核, not the audit log): the
registrar submits drafts, the school approver passes them to the county bureau or returns
them, the bureau registers them (keeping their L number) or returns them. Each
step locks the students, checks their state and writes the history and the public index
in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.models import Student
from tenant_apps.registry.students.services import (
    MSG_NOT_FOUND,
    event_add,
)

MSG_STATE = "第{n}名学生当前状态为“{state}”，不能执行此操作。"
MSG_MAKER_CHECKER = "不能审核自己提交的学生（{names}）：须由另一位学籍主管领导审核。"


def _locked(ids: Sequence[int], allowed: set[str]) -> list[Student]:
    students = list(
        Student.objects.select_for_update()
        .select_related("school_class")
        .filter(pk__in=list(ids))
        .order_by("pk")
    )
    if len(students) != len(set(ids)):
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    for n, s in enumerate(students, 1):
        if s.audit_state not in allowed:
            raise ApplicationError(
                MSG_STATE.format(n=n, state=s.get_audit_state_display()), code="state"
            )
    return students


def _transition(
    students: list[Student],
    to_state: str,
    *,
    actor: Actor,
    action: str,
    reason: str = "",
    **extra: str,
) -> None:
    from shared_apps.student_index.services import index_set_state

    by_state: dict[str, list[int]] = {}
    for s in students:
        by_state.setdefault(s.audit_state, []).append(s.pk)
    Student.objects.filter(pk__in=[s.pk for s in students]).update(audit_state=to_state, **extra)
    for from_state, ids in by_state.items():
        event_add(
            ids, actor=actor, action=action, from_state=from_state, to_state=to_state, reason=reason
        )
    # updated_at stamps when the entry entered its state: the county's queue counts its
    # waiting days from it (bureau.selectors.county_queue), as transfers stamp theirs.
    index_set_state(
        student_uuids=[s.identifier for s in students],
        audit_state=to_state,
        has_problem=to_state == Student.Audit.PROBLEM,
        updated_at=timezone.now(),
    )


@transaction.atomic(durable=True)
def students_submit(*, student_ids: Sequence[int], actor: Actor) -> int:
    """Registrar submits clean drafts for the school audit (学籍注册学校审核)."""
    students = _locked(student_ids, {Student.Audit.DRAFT})
    _transition(
        students,
        Student.Audit.SCHOOL_PENDING,
        actor=actor,
        action="提交学校审核",
        submitted_by=actor.username,
    )
    return len(students)


@transaction.atomic(durable=True)
def students_school_decide(
    *, student_ids: Sequence[int], approve: bool, reason: str, actor: Actor
) -> int:
    """School approver passes to the bureau or returns with a reason; never one's own."""
    students = _locked(student_ids, {Student.Audit.SCHOOL_PENDING})
    own = [s.name for s in students if s.submitted_by == actor.username]
    if own:
        raise ApplicationError(
            MSG_MAKER_CHECKER.format(names="、".join(own[:5])), code="maker_checker"
        )
    if not approve and not reason.strip():
        raise ApplicationError(
            "退回时请填写原因。", code="invalid", extra={"reason": ["请填写退回原因。"]}
        )
    if approve:
        _transition(students, Student.Audit.COUNTY_PENDING, actor=actor, action="学校审核通过")
    else:
        _transition(
            students, Student.Audit.DRAFT, actor=actor, action="学校审核退回", reason=reason.strip()
        )
    return len(students)


@transaction.atomic
def students_county_decide(
    *, student_uuids: Sequence[uuid.UUID], approve: bool, reason: str, actor: Actor
) -> int:
    """Bureau decision, run inside the school's schema by the bureau's service.

    Approval registers the students; they keep their L number until the national check.
    """
    ids = list(
        Student.objects.filter(identifier__in=list(student_uuids)).values_list("pk", flat=True)
    )
    if len(ids) != len(set(student_uuids)):
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    students = _locked(ids, {Student.Audit.COUNTY_PENDING})
    if not approve:
        if not reason.strip():
            raise ApplicationError(
                "退回时请填写原因。", code="invalid", extra={"reason": ["请填写退回原因。"]}
            )
        _transition(
            students,
            Student.Audit.DRAFT,
            actor=actor,
            action="教育局审核退回",
            reason=reason.strip(),
        )
        return len(students)
    # domain §3.2 steps 8–9: the county registers the record with its L number; the G (or
    # J) number comes only from the national check (registry.verification, imported by
    # the bureau), so nothing here touches national_number.
    _transition(students, Student.Audit.REGISTERED, actor=actor, action="教育局审核通过")
    return len(students)
