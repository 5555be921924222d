"""Temporary paper records (无身份证号, domain.md §3.10): a child admitted without an ID
number gets a PaperRecord (PAPER_ONLY) that stays on the reminder list until the registry
record is entered and linked ("complete").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.facade import same_name
from tenant_apps.registry.lifecycle.intake import _normal_id
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.registry.models.lifecycle import PaperRecord


@dataclass(frozen=True)
class PaperInput:
    name: str
    sex: str
    birth_date: str  # YYYYMMDD
    class_id: object
    guardian_name: str
    guardian_phone: str
    note: str = ""


def paper_create(*, data: PaperInput, actor: Actor) -> PaperRecord:
    """Open a temporary paper record for a child admitted without an ID number."""
    errors: dict[str, list[str]] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = ["请填写姓名。"]
    if data.sex not in Student.Sex.values:
        errors["sex"] = ["请选择性别。"]
    birth: dt.date | None = None
    try:
        text = data.birth_date.strip()
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError
        birth = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if birth > timezone.localdate():
            raise ValueError
    except ValueError:
        errors["birth_date"] = ["出生日期填8位数字，如20130905。"]
    klass = (
        SchoolClass.objects.filter(pk=data.class_id).first()  # type: ignore[misc]
        if str(data.class_id or "").isdigit()
        else None
    )
    if klass is None:
        errors["class_id"] = ["请选择班级。"]
    if not data.guardian_name.strip():
        errors["guardian_name"] = ["请填写监护人姓名。"]
    if not re.fullmatch(r"[\d\-+ ]{7,20}", data.guardian_phone.strip()):
        errors["guardian_phone"] = ["请填写监护人电话。"]
    if errors:
        raise ApplicationError("请按提示补全临时档案信息。", code="invalid", extra=errors)
    return PaperRecord.objects.create(  # type: ignore[misc]
        name=name,
        sex=data.sex,
        birth_date=birth,
        school_class=klass,
        guardian_name=data.guardian_name.strip(),
        guardian_phone=data.guardian_phone.strip(),
        note=data.note.strip()[:300],
        created_by=actor.label,
    )


def paper_reminders(today: dt.date | None = None) -> list[dict[str, Any]]:
    """Open paper records, oldest first, with how long each has waited."""
    today = today or timezone.localdate()
    return [
        {"record": r, "days": (today - timezone.localtime(r.created_at).date()).days}
        for r in PaperRecord.objects.filter(state=PaperRecord.State.OPEN)
        .select_related("school_class")
        .order_by("created_at")
    ]


@transaction.atomic
def paper_complete(*, record_id: int, id_number: str, actor: Actor) -> PaperRecord:
    """Link the registry record entered once the ID number exists (新增学生): same
    school, same name and birth date, not deleted. The student's history notes it."""
    from tenant_apps.registry.students.services import event_add

    record = PaperRecord.objects.select_for_update().filter(pk=record_id).first()
    if record is None:
        raise ApplicationError("未找到该临时档案。", code="not_found")
    if record.state != PaperRecord.State.OPEN:
        raise ApplicationError("该临时档案已建立学籍。", code="state")
    number = _normal_id(id_number)
    if not number:
        raise ApplicationError(
            "请填写学生的身份证件号。", code="invalid", extra={"id_number": ["请填写。"]}
        )
    student = (
        Student.objects.exclude(audit_state=Student.Audit.DELETED).filter(id_number=number).first()
    )
    if student is None:
        message = "本校还没有该身份证件号的学籍：请先在“新增学生”中录入，再回到这里完成。"
        raise ApplicationError(message, code="not_found", extra={"id_number": [message]})
    if not same_name(student.name, record.name) or student.birth_date != record.birth_date:
        message = "该身份证件号的学生姓名或出生日期与临时档案不一致，请核对。"
        raise ApplicationError(message, code="invalid", extra={"id_number": [message]})
    record.state = PaperRecord.State.COMPLETED
    record.student = student
    record.completed_by, record.completed_at = actor.label, timezone.now()
    record.save(update_fields=["state", "student", "completed_by", "completed_at"])
    event_add(
        [student.pk],
        actor=actor,
        action="临时档案转为学籍",
        reason=f"临时纸质档案（{timezone.localtime(record.created_at):%Y-%m-%d}建立）",
    )
    return record
