"""关键数据变更 (domain §3.19): the key fields of a registered record change only through an
application with proof, approved by the school and the county.

- Key fields: 姓名, 身份证件号, 性别, 出生日期, plus what a province adds
  (settings.KEY_DATA_PROVINCE_FIELDS, by the first two digits of the school's county code).
  Grade and class are key data too; they move through their own changes (调班, 跳级, 留级),
  not through this form. Every other field stays directly editable under the field policy
  (`student_update` refuses a key field of a registered record: `key_fields_refuse`).
- Submission checks the new values with the registry's own row validation and runs 查重 on
  them in the school and across schools first: an exact duplicate (the same ID number held
  by another record anywhere) refuses the application at once, naming the other record
  masked; suspected duplicates (same name+sex+birth, same pinyin+birth) are kept, masked,
  for the approvers to see. Then the application, its proofs, the public case (chain: the
  school approver, then the county bureau) and the history entry are written in one
  transaction.
- The school approver is never the applicant (hooks.keydata_decision); the county decides
  in its queue, one by one (transfers.bulk.ONE_BY_ONE).
- The last approval applies the change in the engine's transaction (hooks): the record,
  its index entry, its G number where the ID number changed, and the history, after
  checking again that the new ID number is still nobody else's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_name
from tenant_apps.registry.changes.blockers import student_blockers
from tenant_apps.registry.changes.services import MAX_EVIDENCE_FILES, Upload, evidence_check
from tenant_apps.registry.fields import BY_KEY
from tenant_apps.registry.models import KeyDataChange, KeyDataEvidence, Student
from tenant_apps.registry.problems.services import evidence_save
from tenant_apps.registry.students.services import (
    _check_duplicates,
    current_school,
    event_add,
    keys_of,
    record_date,
    student_snapshot,
)

if TYPE_CHECKING:
    from shared_apps.transfers.services import CaseActor

KIND = "KEY_DATA"
LABEL = "关键数据变更"
# The fields every province treats as key data (domain §3.19), in the form's order.
BASE_FIELDS = ("name", "id_number", "sex", "birth_date")
SCHOOL_STEP = 0  # chain_in_school: the school approver, then the county bureau

MSG_NOTHING = "新值与现有信息相同，没有需要变更的关键数据。"
MSG_INVALID = "变更后的信息有误，请按提示修改。"
MSG_REASON = "请填写变更原因。"
MSG_PROOF = "关键数据变更须上传证明材料（户口簿或身份证件复印件）。"
MSG_BLOCKED = "该学生现在不能办理关键数据变更：{first}"
MSG_OPEN = "该学生已有一项关键数据变更正在审批（{number}），请等待办结或撤回后再申请。"
MSG_DUPLICATE = (
    "变更后的身份证件号与已有学籍重复：{others}。不能提交；请核对证件，"
    "确属同一学生的，请联系县教育局处理重复学籍。"
)
MSG_KEY_FIELDS = (
    "该学生学籍已注册，{headers}属于关键数据，不能直接修改：请在学生页面办理“关键数据变更”，"
    "上传证明材料，经学校和教育局审核后生效。"
)


def key_fields(county_code: str = "") -> tuple[str, ...]:
    """The key fields of this school: the base four plus the province's own."""
    code = county_code or current_school().area
    extra = settings.KEY_DATA_PROVINCE_FIELDS.get(code[:2], ())
    return BASE_FIELDS + tuple(f for f in extra if f not in BASE_FIELDS and f in BY_KEY)


def key_fields_refuse(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    """For `student_update`: a registered record's key field never changes by a plain
    edit. Raises naming the fields; silent when none of them changed."""
    changed = [k for k in key_fields() if _text(before.get(k)) != _text(after.get(k))]
    if changed:
        headers = "、".join(BY_KEY[k].header for k in changed)
        message = MSG_KEY_FIELDS.format(headers=headers)
        raise ApplicationError(message, code="key_data", extra={k: [message] for k in changed})


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def keydata_preview(student: Student) -> list[Any]:
    """What stops an application now (shown above the form)."""
    return student_blockers(student, KIND)


def _summary(student: Student) -> dict[str, str]:
    klass = student.school_class
    return {
        "name": mask_name(student.name),
        "id_number": mask_id_number(student.id_number),
        "class": klass.name,
        "grade": klass.grade_name,
        "status": student.get_status_display(),
    }


def keydata_submit(
    *,
    student_id: int,
    values: Mapping[str, str],
    reason: str,
    uploads: list[Upload],
    actor: Actor,
) -> KeyDataChange:
    """Check, 查重, then write the application, its proofs, its case and the history in
    one transaction. `values` are the new key-field texts as typed; they replace the
    record's current values for the registry's own row validation, so a new value is
    held to exactly the rules a new record is. Files stored before a failed write are
    removed again."""
    saved: list[str] = []
    try:
        with transaction.atomic(durable=True):
            return _submit(student_id, values, reason, uploads, actor, saved)
    except BaseException:
        for key in saved:
            default_storage.delete(key)
        raise


def _submit(
    student_id: int,
    values: Mapping[str, str],
    reason: str,
    uploads: list[Upload],
    actor: Actor,
    saved: list[str],
) -> KeyDataChange:
    from shared_apps.transfers.services import case_open, chain_in_school
    from tenant_apps.registry.students.forms import student_raw

    student = (
        Student.objects.select_for_update()
        .select_related("school_class")
        .filter(pk=student_id)
        .first()
    )
    if student is None:
        raise ApplicationError("未找到该学生。", code="not_found")
    pending = KeyDataChange.objects.filter(student=student, state=KeyDataChange.State.OPEN).first()
    if pending is not None:
        raise ApplicationError(MSG_OPEN.format(number=pending.case_number), code="blocked")
    blockers = keydata_preview(student)
    if blockers:
        raise ApplicationError(
            MSG_BLOCKED.format(first=blockers[0].message),
            code="blocked",
            extra={"blockers": [f"{b.message}{b.advice}" for b in blockers]},
        )
    fields = key_fields()
    before = student_snapshot(student)
    merged = student_raw(student, before) | {
        k: str(v).strip() for k, v in values.items() if k in fields
    }
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = [MSG_REASON]
    if not uploads:
        errors["files"] = [MSG_PROOF]
    elif len(uploads) > MAX_EVIDENCE_FILES:
        errors["files"] = [f"证明材料最多{MAX_EVIDENCE_FILES}个文件。"]
    try:
        data = key_values(merged, fields, on=record_date(student))
    except ApplicationError as exc:
        errors |= exc.extra
        data = {}
    if errors:
        raise ApplicationError(MSG_INVALID, code="invalid", extra=errors)
    diff = {
        k: [_text(before.get(k)), _text(data.get(k))]
        for k in fields
        if _text(before.get(k)) != _text(data.get(k))
    }
    if not diff:
        raise ApplicationError(MSG_NOTHING, code="invalid", extra={"": [MSG_NOTHING]})
    suspected = _duplicates(data, student)
    types = [evidence_check(u) for u in uploads]
    school = current_school()
    change = KeyDataChange.objects.create(
        student=student,
        values=diff,
        reason=reason.strip()[:500],
        suspected=suspected,
        created_by=actor.username,
        created_by_label=actor.label,
    )
    stamp = f"{timezone.now():%Y%m%d%H%M%S}"
    for n, (upload, content_type) in enumerate(zip(uploads, types, strict=True), 1):
        key = evidence_save(f"keydata/{change.pk}/{stamp}-{n}", upload.data, content_type)
        saved.append(key)
        KeyDataEvidence.objects.create(
            change=change,
            file_key=key,
            original_name=upload.name[:200],
            content_type=content_type,
            size=len(upload.data),
            uploaded_by=actor.label,
        )
    case = case_open(
        kind=KIND,
        school_id=school.id,
        student_uuid=student.identifier,
        summary=_summary(student),
        chain=chain_in_school(school.id),
        created_by=f"{actor.username}@{connection.schema_name}",
        # Which fields change, never their values: the case is public.
        payload={"keydata_id": change.pk, "fields": sorted(diff)},
    )
    change.case_id, change.case_number = case.pk, case.number
    change.save(update_fields=["case_id", "case_number"])
    event_add(
        [student.pk],
        actor=actor,
        action=f"申请关键数据变更（{case.number}）：{field_labels(diff)}",
        reason=change.reason[:300],
    )
    return change


def key_values(
    merged: Mapping[str, Any], fields: tuple[str, ...], *, on: dt.date | None = None
) -> dict[str, Any]:
    """The row's typed values by the registry's own row validation (the same rules as a
    new record), refusing on an error of a key field only: an unrelated field an older
    record lacks must not stop the correction of its name."""
    from tenant_apps.registry.students.services import class_map
    from tenant_apps.registry.validation.rows import RowValidator

    result = RowValidator(class_nos=set(class_map()), record_date=on).validate(merged)
    errors: dict[str, list[str]] = {}
    for error in result.errors:
        if error.key in fields:
            errors.setdefault(error.key, []).append(error.message)
    if errors:
        raise ApplicationError(MSG_INVALID, code="invalid", extra=errors)
    return result.data


def _duplicates(data: Mapping[str, Any], student: Student) -> list[dict[str, str]]:
    """查重 of the new values in the school and across schools: raises on an exact
    duplicate (the other record named, masked); returns the suspected ones, masked."""
    return _check_duplicates(keys_of(dict(data)), exclude=student.identifier, message=MSG_DUPLICATE)


def field_labels(keys: Iterable[str]) -> str:
    """The fields' headers (a mapping gives its keys)."""
    return "、".join(BY_KEY[k].header if k in BY_KEY else k for k in keys)


def shown(key: str, value: str, *, school: bool = False) -> str:
    """An old or new value as a page shows it: codes as their labels, ID numbers masked;
    names in full inside the school (as its lists show them), masked for the bureau."""
    from tenant_apps.registry.students.forms import display_value

    if not value:
        return "（空）"
    col = BY_KEY.get(key)
    if key == "name":
        return value if school else mask_name(value)
    if col is None:
        return value
    return display_value(col, value)


# -- school decision and withdrawal -----------------------------------------------------


def _locked(change_id: int) -> KeyDataChange:
    change = KeyDataChange.objects.select_for_update().filter(pk=change_id).first()
    if change is None:
        raise ApplicationError("未找到该关键数据变更。", code="not_found")
    return change


@transaction.atomic(durable=True)
def keydata_school_decide(
    *, change_id: int, approve: bool, reason: str, actor: Actor, case_actor: CaseActor
) -> KeyDataChange:
    """学校审核: pass to the county, or return with a reason (the record stays as it is).
    Maker ≠ checker is the decision hook's (hooks.keydata_decision), so every page that
    decides a case obeys it."""
    from shared_apps.transfers.models import Case
    from shared_apps.transfers.services import case_decide

    change = _locked(change_id)
    if change.state != KeyDataChange.State.OPEN or change.case_id is None:
        return change
    if not Case.objects.filter(pk=change.case_id, state="open", step=SCHOOL_STEP).exists():
        return change  # a repeated click: the case is past the school step
    if not approve and not reason.strip():
        raise ApplicationError(
            "退回时请填写原因。", code="invalid", extra={"reason": ["请填写退回原因。"]}
        )
    case_decide(
        case_id=change.case_id, actor=case_actor, approve=approve, reason=reason, step=SCHOOL_STEP
    )
    change.refresh_from_db()
    return change


@transaction.atomic(durable=True)
def keydata_withdraw(
    *, change_id: int, reason: str, actor: Actor, case_actor: CaseActor
) -> KeyDataChange:
    from shared_apps.transfers.services import case_withdraw

    change = _locked(change_id)
    if change.case_id is None or change.state != KeyDataChange.State.OPEN:
        raise ApplicationError("该申请已办结，不能撤回。", code="state")
    if not reason.strip():
        raise ApplicationError(
            "撤回时请填写原因。", code="invalid", extra={"reason": ["请填写撤回原因。"]}
        )
    case_withdraw(case_id=change.case_id, actor=case_actor, reason=reason)
    change.refresh_from_db()
    return change
