"""异地离校生转入 and 其他增加 (domain.md §3.9): a grade-7 student who is no platform
graduate, entered through the registry's single entry, is registered with a written
explanation through a case (school approver → county bureau) whose approval registers the
record. The graduates of platform schools are taken in by registry.lifecycle.intake.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_name
from tenant_apps.registry.lifecycle.intake import MSG_NOT_FOUND, _here, intake_year
from tenant_apps.registry.models import Student
from tenant_apps.registry.problems.services import evidence_save

MAX_EXPLANATION_BYTES = 2 * 1024 * 1024

MSG_EXPLANATION = "请上传书面说明（JPG、PNG或PDF，不超过2MB）。"
MSG_EXPLANATION_SIZE = "书面说明文件不能超过2MB。"
MSG_REASON = "请填写情况说明。"
MSG_NEW_STATE = "只有刚录入、待提交的学生可以登记{label}（该生当前：{state}）。"
MSG_NEW_CLASS = "{label}的学生须在七年级（初中{year}级）班级中录入。"

NEW_KINDS = {
    "INTAKE_LEFT_ELSEWHERE": "异地离校生转入",
    "INTAKE_OTHER": "其他增加",
}


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def _explanation_check(upload: Upload | None) -> str:
    from tenant_apps.registry.problems.services import evidence_check

    if upload is None or not upload.data:
        raise ApplicationError(MSG_EXPLANATION, code="upload", extra={"file": [MSG_EXPLANATION]})
    if len(upload.data) > MAX_EXPLANATION_BYTES:
        raise ApplicationError(
            MSG_EXPLANATION_SIZE, code="upload", extra={"file": [MSG_EXPLANATION_SIZE]}
        )
    return evidence_check(name=upload.name, data=upload.data)


def intake_register_new(
    *, actor: Actor, kind: str, student_id: int, reason: str, explanation: Upload | None
) -> Any:
    """A grade-7 student who is no platform graduate, just entered through the single
    entry (a draft): 异地离校生转入 (left a school in the province without graduating) or
    其他增加 (never registered). The written explanation is required; the case goes
    school approver → county bureau, whose approval registers the record. The file is
    stored first and removed again if the write fails."""
    if kind not in NEW_KINDS:
        raise ApplicationError("请选择增加类型。", code="invalid", extra={"kind": ["请选择。"]})
    if not reason.strip():
        raise ApplicationError(MSG_REASON, code="invalid", extra={"reason": [MSG_REASON]})
    content_type = _explanation_check(explanation)
    assert explanation is not None
    key = evidence_save(
        f"intake/{timezone.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}",
        explanation.data,
        content_type,
    )
    try:
        with transaction.atomic():
            return _register_new(
                actor, kind, student_id, reason.strip(), key, explanation.name, content_type
            )
    except BaseException:
        default_storage.delete(key)
        raise


def _register_new(
    actor: Actor,
    kind: str,
    student_id: int,
    reason: str,
    key: str,
    original_name: str,
    content_type: str,
) -> Any:
    from shared_apps.transfers.services import case_open, chain_in_school
    from tenant_apps.registry.students.services import event_add

    label = NEW_KINDS[kind]
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
            MSG_NEW_STATE.format(label=label, state=student.get_audit_state_display()),
            code="state",
        )
    klass = student.school_class
    if klass.stage != "junior" or klass.entry_year != intake_year():
        raise ApplicationError(MSG_NEW_CLASS.format(label=label, year=intake_year()), code="state")
    school_id, school_name, _county = _here()
    chain = chain_in_school(school_id)
    chain[0]["label"] = "接收学校审核"
    event_add([student.pk], actor=actor, action=f"{label}登记", reason=reason[:300])
    from shared_apps.transfers.models import CaseKind

    return case_open(
        kind=CaseKind(kind),
        school_id=school_id,
        student_uuid=student.identifier,
        summary={
            "name": mask_name(student.name),
            "id_number": mask_id_number(student.id_number),
            "school": school_name,
            "class": klass.name,
            "status": student.get_status_display(),
        },
        chain=chain,
        created_by=f"{actor.username}@{actor.schema}",
        payload={
            "reason": reason[:300],
            "evidence_key": key,
            "evidence_name": original_name[:200],
            "evidence_type": content_type,
            "receiving_school": school_name,
            "target_class": klass.name,
            "applied_on": timezone.localdate().isoformat(),
        },
    )


def intake_new_complete(case: Any) -> None:
    """The county's approval registers the record and assigns its formal number."""
    from tenant_apps.registry.facade import register_on_approval
    from tenants.models import School

    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True)[0]
    last = case.steps.order_by("-at", "-id").first()
    who = (last.actor if last else case.created_by).split("@")[0]
    if case.student_uuid is None:
        raise ApplicationError("该学生已被删除，不能办结。", code="move")
    if register_on_approval(
        schema_name=schema,
        identifier=case.student_uuid,
        actor=Actor(username=who, name=who, schema="public"),
        action=f"{NEW_KINDS.get(case.kind, '')}审核通过",
        reason=case.number,
    ):
        case.payload = {**case.payload, "registered_on": timezone.localdate().isoformat()}


def intake_new_detail(case: Any) -> list[tuple[str, str]]:
    p = case.payload
    return [
        ("编入班级", str(p.get("target_class", ""))),
        ("情况说明", str(p.get("reason", ""))),
        ("书面说明", str(p.get("evidence_name", ""))),
    ]


def drafts_for_new(today: dt.date | None = None) -> list[Student]:
    """Drafts in grade-7 classes without an open case: candidates for 异地离校生转入 and
    其他增加 (entered through 新增学生 first)."""
    from shared_apps.transfers.selectors import cases_open_for

    students = list(
        Student.objects.filter(
            audit_state=Student.Audit.DRAFT,
            school_class__stage="junior",
            school_class__entry_year=intake_year(today),
        ).select_related("school_class")[:500]
    )
    busy = cases_open_for(s.identifier for s in students)
    return [s for s in students if s.identifier not in busy]
