"""Writes inside one school for the shared apps and the bureau.

Every function takes the school's schema name and plain values (an `Actor` is a frozen
dataclass), writes inside `school_context` of that school only and returns plain
values. None opens its own transaction unless it says so: the caller's (a case
decision, a bureau batch) spans every school it touches, so a multi-school write
stays one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.facade.contracts import Peek
from tenants.context import school_context

MSG_NOT_FOUND = "未找到该学生。"


# -- transfers ------------------------------------------------------------------------


def external_in_claim(
    *, schema_name: str, student_id: int, actor: Actor, action: str, reason: str
) -> Peek:
    """Claim a draft just entered through the single entry for a registration with
    evidence (省外转入): lock it, refuse anything but a draft, note it in its history.
    Returns the student as a Peek for the case summary."""
    from tenant_apps.registry.facade.reads import _peek
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import event_add

    with school_context(schema_name):
        student = (
            Student.objects.select_for_update()
            .select_related("school_class")
            .filter(pk=student_id)
            .first()
        )
        if student is None:
            raise ApplicationError(MSG_NOT_FOUND, code="not_found")
        if student.audit_state != Student.Audit.DRAFT:
            raise ApplicationError(
                f"只有刚录入、待提交的学生可以登记省外转入（该生当前：{student.get_audit_state_display()}）。"
                "有问题学籍的请先处理。",
                code="state",
            )
        event_add([student.pk], actor=actor, action=action, reason=reason[:300])
        return _peek(student)


def student_leave_external(
    *,
    schema_name: str,
    identifier: uuid.UUID,
    actor_label: str,
    to_school: str,
    note: str,
    action: str,
) -> None:
    """Mark a 在读 student 转学（转出） to a school outside the platform, under its row
    lock, with history; refuses a student no longer 在读."""
    from tenant_apps.registry.facade.move import student_mark_left
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        student = Student.objects.select_for_update().filter(identifier=identifier).first()
        if student is None or student.status != Student.Status.STUDYING:
            raise ApplicationError("该学生已不是在读状态，不能办结转出。", code="move")
        student_mark_left(
            student.pk, actor_label=actor_label, to_school=to_school, note=note, action=action
        )


def register_on_approval(
    *, schema_name: str, identifier: uuid.UUID, actor: Actor, action: str, reason: str
) -> bool:
    """Register a record entered as a draft with evidence (省外转入, 异地离校生转入,
    其他增加) and give it its formal number, then update the public index. Unlike the
    registration audit's county approval (L until the national check), such a pupil was
    registered nationally before (its case carries the evidence), so it is marked
    verified with its G or J number at once. False when the record was registered
    meanwhile through the ordinary audit (left as it is)."""
    from django.utils import timezone

    from shared_apps.student_index.services import index_set_state
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import current_school, event_add, formal_number

    with school_context(schema_name):
        student = Student.objects.select_for_update().filter(identifier=identifier).first()
        if student is None:
            raise ApplicationError("该学生已被删除，不能办结。", code="move")
        if student.audit_state == Student.Audit.REGISTERED:
            return False
        if student.audit_state == Student.Audit.PROBLEM:
            raise ApplicationError("该学生现为问题学籍，请学校先处理后再审核。", code="move")
        before = student.audit_state
        kind, number = formal_number(student, current_school().area)
        Student.objects.filter(pk=student.pk).update(
            audit_state=Student.Audit.REGISTERED,
            number_kind=kind,
            national_number=number,
            national_check=Student.NationalCheck.VERIFIED,
            national_checked_at=timezone.now(),
        )
        event_add(
            [student.pk],
            actor=actor,
            action=action,
            from_state=before,
            to_state=Student.Audit.REGISTERED,
            reason=reason,
            changes={"national_number": [student.national_number, number]},
        )
    index_set_state(student_uuids=[identifier], audit_state="registered", updated_at=timezone.now())
    return True


def evidence_check(*, name: str, data: bytes) -> str:
    """The sniffed content type of an evidence file, or ApplicationError (problems)."""
    from tenant_apps.registry.problems.services import evidence_check as check

    return check(name=name, data=data)


def evidence_save(*, schema_name: str, stem: str, data: bytes, content_type: str) -> str:
    """Store an evidence file under the school's key prefix; returns its key."""
    from tenant_apps.registry.problems.services import evidence_save as save

    with school_context(schema_name):
        return save(stem, data, content_type)


# -- the county's decisions -----------------------------------------------------------


def students_county_decide(
    *,
    schema_name: str,
    student_uuids: Sequence[uuid.UUID],
    approve: bool,
    reason: str,
    actor: Actor,
) -> int:
    """The county's registration decision over students of one school; the count."""
    from tenant_apps.registry.students.approval import students_county_decide as decide

    with school_context(schema_name):
        return decide(student_uuids=student_uuids, approve=approve, reason=reason, actor=actor)


def evidence_decide(
    *,
    schema_name: str,
    problem_id: int,
    evidence_id: int,
    accept: bool,
    reason: str,
    actor: Actor,
) -> None:
    """The county's decision on one 佐证 of a 问题学籍."""
    from tenant_apps.registry.problems.services import evidence_decide as decide

    with school_context(schema_name):
        decide(
            problem_id=problem_id,
            evidence_id=evidence_id,
            accept=accept,
            reason=reason,
            actor=actor,
        )


# -- the county's renumbering ---------------------------------------------------------


def aux_numbers_write(
    *,
    schema_name: str,
    assignments: Sequence[tuple[int, str, str]],
    actor: Actor,
    county: str,
) -> None:
    """Write (student id, old, new) 学籍辅号 in the school: one UPDATE and one
    StudentEvent per changed student."""
    from django.db import connection

    from tenant_apps.registry.models import Student, StudentEvent

    changed = [(pk, old, new) for pk, old, new in assignments if old != new]
    if not changed:
        return
    with school_context(schema_name):
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {Student._meta.db_table} AS s
                       SET aux_number = v.aux, updated_at = now()
                      FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, aux)
                     WHERE s.id = v.id""",  # noqa: S608 - the table name is the model's own
                [[c[0] for c in changed], [c[2] for c in changed]],
            )
        StudentEvent.objects.bulk_create(
            [
                StudentEvent(
                    student_id=pk,
                    actor=actor.label,
                    action="学籍辅号编排",
                    reason=f"{county}统一编排",
                    changes={"aux_number": [old, new]},
                )
                for pk, old, new in changed
            ],
            batch_size=5000,
        )
