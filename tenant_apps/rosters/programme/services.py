"""Ticking and unticking beneficiaries: the school's own record and the public claim in
one transaction, only for registered pupils in school (registry.counts' 在读)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.nutrition import selectors as nutrition
from shared_apps.nutrition.services import ClaimInput, claims_close, claims_open
from tenant_apps.registry import counts
from tenant_apps.registry.models import Student
from tenant_apps.registry.students.services import current_school
from tenant_apps.rosters.models import Beneficiary

MSG_NOT_PROGRAMME = "本校目前不是营养改善计划学校，不能勾选受益学生。如有疑问，请联系教育局。"
MSG_NOT_IN_SCHOOL = "{student}（{klass}）：{state}，只有已注册的在读学生才能列为受益学生。"
MSG_NOT_FOUND = "所选的学生不存在，请刷新页面后重试。"


@dataclass(frozen=True)
class SaveResult:
    ticked: int
    ended: int


def _label(student: Student) -> str:
    klass = student.school_class.name if student.school_class_id else "未分班"
    return f"{student.name}（{klass}）"


def _state_label(student: Student) -> str:
    key = counts.line_of(audit_state=student.audit_state, status=student.status)
    labels = {line.key: line.label for line in counts.status_lines()}
    return labels.get(key, "已删除")


def beneficiaries_save(
    *, tick: Sequence[int], untick: Sequence[int], on: dt.date, actor: Actor
) -> SaveResult:
    """Tick the pupils `tick` (student ids) and end the benefit of `untick` from `on`.
    All or nothing: a pupil who is not 在读 refuses the whole save with a message naming
    each such pupil; the public claims are written in the same transaction."""
    school = current_school()
    tick_ids, untick_ids = set(tick) - set(untick), set(untick)
    with transaction.atomic():
        students = {
            s.pk: s
            for s in Student.objects.select_for_update(of=("self",))
            .select_related("school_class")
            .filter(pk__in=tick_ids | untick_ids)
        }
        if len(students) != len(tick_ids | untick_ids):
            raise ApplicationError(MSG_NOT_FOUND, code="not_found")
        open_rows = {
            b.student_id: b
            for b in Beneficiary.objects.select_for_update().filter(
                student_id__in=tick_ids | untick_ids, until__isnull=True
            )
        }
        new = [students[pk] for pk in sorted(tick_ids) if pk not in open_rows]
        if new:
            if not nutrition.in_programme(school_id=school.id, on=on):
                raise ApplicationError(MSG_NOT_PROGRAMME, code="nutrition")
            refused = [
                MSG_NOT_IN_SCHOOL.format(
                    student=s.name,
                    klass=s.school_class.name if s.school_class_id else "未分班",
                    state=_state_label(s),
                )
                for s in new
                if counts.line_of(audit_state=s.audit_state, status=s.status) != "in_school"
            ]
            if refused:
                raise ApplicationError(
                    refused[0] if len(refused) == 1 else "以下学生不能列为受益学生：",
                    code="nutrition",
                    extra={"students": refused},
                )
            Beneficiary.objects.bulk_create(
                [
                    Beneficiary(
                        student=s, student_uuid=s.identifier, since=on, ticked_by=actor.label[:100]
                    )
                    for s in new
                ]
            )
            claims_open(
                school_id=school.id,
                students=[ClaimInput(s.identifier, _label(s)) for s in new],
                on=on,
                actor_label=actor.label,
            )
        ending = [open_rows[pk] for pk in sorted(untick_ids) if pk in open_rows]
        if ending:
            Beneficiary.objects.filter(pk__in=[b.pk for b in ending], since__gte=on).delete()
            Beneficiary.objects.filter(pk__in=[b.pk for b in ending], since__lt=on).update(
                until=on, ended_by=actor.label[:100]
            )
            claims_close(
                school_id=school.id,
                student_uuids=[b.student_uuid for b in ending],
                on=on,
                actor_label=actor.label,
            )
    return SaveResult(ticked=len(new), ended=len(ending))
