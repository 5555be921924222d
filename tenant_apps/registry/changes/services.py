"""In-school status changes (学籍异动: 休学, 复学, 退学, 流失, 死亡 …), domain.md §3.5, §3.7.

A registrar opens the change on the student's page; the preconditions (registry.changes.blockers)
are shown before anything is submitted and checked again under the student's row lock.
Submission writes the StatusChange, its evidence and the public business case
(transfers.Case, chain: school approver → the school's county bureau) in one
transaction. The school approver decides here (maker ≠ checker), the bureau in its case
queue; 调班 is the school's own affair and ends at the school's step (chain_school_only).
Approving the last step runs `change_complete` (registry.changes.hooks) inside the
engine's transaction, which sets the student's status — and for 调班, 跳级, 留级 and
恢复入学资格 moves the record into the chosen class (registry.changes.moves) — writes the
history entry and refreshes the public index. Rejection or withdrawal leaves the status
as it was. The reads are in registry.changes.selectors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_name
from tenant_apps.registry.changes.blockers import Blocker, student_blockers
from tenant_apps.registry.models import ChangeEvidence, StatusChange, Student
from tenant_apps.registry.problems.services import evidence_save
from tenant_apps.registry.students.services import current_school, event_add

if TYPE_CHECKING:
    from shared_apps.transfers.services import CaseActor

K = StatusChange.Kind
S = Student.Status

# -- what each kind needs ------------------------------------------------------------


def actors_of(user: Any) -> dict[str, Any]:
    """The two actors a decision takes (the registry's and the case engine's), as the
    keyword arguments the services below accept; for the pages and the API alike."""
    from shared_apps.transfers.services import CaseActor

    return {"actor": Actor.of(user), "case_actor": CaseActor.of(user)}


@dataclass(frozen=True)
class KindSpec:
    kind: str
    to_status: str | None  # None: chosen on the form (其他)
    evidence_required: bool
    reason_code_required: bool
    reason_text_required: bool
    leave_dates: bool = False
    reasons: tuple[tuple[str, str], ...] = ()
    hint: str = ""  # what proof the school should attach
    targets: tuple[str, ...] = field(default=())  # choosable results (其他)
    # The class the record moves to (registry.changes.moves): "" none, "grade" another
    # class of the same grade (调班), "up"/"down" a class one grade above/below (跳级/留级),
    # "stage" any class of the stage in the current school year (恢复入学资格).
    moves: str = ""
    # False: the school's approval is the last step (调班 is the school's own affair,
    # domain.md §3.7); True: then the county bureau's.
    county: bool = True
    warning: str = ""  # shown on the form above the fields (留级 in compulsory education)

    @property
    def label(self) -> str:
        return str(K(self.kind).label)


SPECS: dict[str, KindSpec] = {
    K.SUSPEND: KindSpec(
        K.SUSPEND,
        S.SUSPENDED,
        evidence_required=True,
        reason_code_required=True,
        reason_text_required=False,
        leave_dates=True,
        reasons=(("01", "疾病"), ("02", "家庭原因"), ("03", "心理健康"), ("99", "其他")),
        hint="家长（监护人）申请书；因病休学的附医院诊断证明。",
    ),
    K.RESUME: KindSpec(
        K.RESUME,
        S.STUDYING,
        evidence_required=False,
        reason_code_required=False,
        reason_text_required=False,
        reasons=(("01", "休学期满"), ("02", "劝返复学"), ("03", "找回"), ("99", "其他")),
        hint="复学申请书；因病休学的附康复证明。",
    ),
    K.WITHDRAW: KindSpec(
        K.WITHDRAW,
        S.WITHDRAWN,
        evidence_required=True,
        reason_code_required=True,
        reason_text_required=True,
        reasons=(("01", "本人申请"), ("02", "出国（境）留学"), ("03", "参军"), ("99", "其他")),
        hint="学生本人及监护人签字的退学申请书。",
    ),
    K.DROPOUT: KindSpec(
        K.DROPOUT,
        S.DROPPED_OUT,
        evidence_required=False,
        reason_code_required=True,
        reason_text_required=True,
        reasons=(
            ("01", "厌学"),
            ("02", "家庭经济困难"),
            ("03", "外出务工"),
            ("04", "疾病"),
            ("99", "其他"),
        ),
        hint="劝返记录（控辍保学）。",
    ),
    K.DEATH: KindSpec(
        K.DEATH,
        S.DECEASED,
        evidence_required=True,
        reason_code_required=False,
        reason_text_required=False,
        hint="死亡医学证明或公安机关出具的证明。",
    ),
    K.ABROAD: KindSpec(
        K.ABROAD,
        S.ABROAD,
        evidence_required=True,
        reason_code_required=False,
        reason_text_required=True,
        hint="出国（境）证明材料，如护照签证页或对方学校录取通知。",
    ),
    K.RETURN_FROM_ABROAD: KindSpec(
        K.RETURN_FROM_ABROAD,
        S.STUDYING,
        evidence_required=False,
        reason_code_required=False,
        reason_text_required=False,
        hint="回国（境）证明材料。",
    ),
    K.MISSING: KindSpec(
        K.MISSING,
        S.MISSING,
        evidence_required=False,
        reason_code_required=False,
        reason_text_required=True,
        hint="报警回执或走访记录。",
    ),
    K.OTHER_LEAVE: KindSpec(
        K.OTHER_LEAVE,
        S.OTHER,
        evidence_required=False,
        reason_code_required=False,
        reason_text_required=True,
    ),
    K.OTHER: KindSpec(
        K.OTHER,
        None,
        evidence_required=True,
        reason_code_required=False,
        reason_text_required=True,
        targets=(S.STUDYING, S.SUSPENDED, S.DROPPED_OUT, S.ABROAD, S.MISSING, S.OTHER),
        hint="说明异动原因的材料。",
    ),
    K.CLASS_CHANGE: KindSpec(
        K.CLASS_CHANGE,
        S.STUDYING,
        evidence_required=False,
        reason_code_required=True,
        reason_text_required=False,
        reasons=(("01", "家长申请"), ("02", "学校编班调整"), ("99", "其他")),
        moves="grade",
        county=False,
    ),
    K.SKIP_GRADE: KindSpec(
        K.SKIP_GRADE,
        S.STUDYING,
        evidence_required=True,
        reason_code_required=False,
        reason_text_required=True,
        moves="up",
        hint="家长（监护人）申请书及学校的学业水平评估意见。",
    ),
    K.REPEAT_GRADE: KindSpec(
        K.REPEAT_GRADE,
        S.STUDYING,
        evidence_required=True,
        reason_code_required=True,
        reason_text_required=False,
        reasons=(("01", "家长申请（学业原因）"), ("02", "家长申请（因病缺课）"), ("99", "其他")),
        moves="down",
        hint="家长（监护人）签字的留级申请书；因病缺课的附医院诊断证明。",
        warning="义务教育阶段学校不得责令学生留级：只能根据家长（监护人）的书面申请办理，"
        "申请书须作为佐证材料上传。",
    ),
    K.RESTORE: KindSpec(
        K.RESTORE,
        S.STUDYING,
        evidence_required=True,
        reason_code_required=False,
        reason_text_required=True,
        moves="stage",
        hint="学生本人及监护人的恢复入学资格申请书和学校同意接收的材料。",
    ),
}

MAX_EVIDENCE_BYTES = 2 * 1024 * 1024  # the national system's limit (domain.md §3.5)
MAX_EVIDENCE_FILES = 5
MSG_EVIDENCE_SIZE = "佐证材料“{name}”超过2MB，请压缩后重新上传。"
MSG_EVIDENCE_REQUIRED = "办理{label}须上传佐证材料（{hint}）。"
MSG_BLOCKED = "该学生现在不能办理{label}：{first}"
MSG_MAKER_CHECKER = "不能审核自己提交的学籍异动：须由另一位学籍主管领导审核。"
MSG_NOT_FOUND = "未找到该学籍异动。"
MSG_STALE = "学生当前学籍状态为“{status}”，已不符合该异动的条件，不能生效。"
MSG_STALE_CLASS = "学生已不在申请时的班级“{name}”，该异动不能生效；请退回后重新申请。"
MSG_REPEAT_ORDERED = (
    "义务教育阶段学校不得责令学生留级：留级只能根据家长（监护人）的申请办理，请选择申请原因。"
)


def kinds_available() -> list[KindSpec]:
    """The kinds the engine knows (a kind without a case kind cannot be submitted)."""
    from shared_apps.transfers.models import CaseKind

    return [spec for kind, spec in SPECS.items() if kind in CaseKind.values]


def kind_spec(kind: str) -> KindSpec:
    spec = SPECS.get(kind)
    if spec is None or spec not in kinds_available():
        raise ApplicationError(
            "未知的异动类型。", code="invalid", extra={"kind": ["请选择异动类型。"]}
        )
    return spec


# -- input ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeInput:
    kind: str
    change_date: dt.date | None
    reason_code: str = ""
    reason_text: str = ""
    leave_from: dt.date | None = None
    leave_to: dt.date | None = None
    target_status: str = ""
    target_class_id: int | None = None


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def _field_errors(
    spec: KindSpec, data: ChangeInput, uploads: list[Upload], *, compulsory: bool = False
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if data.change_date is None:
        errors["change_date"] = ["请填写异动日期。"]
    elif not today - dt.timedelta(days=366) <= data.change_date <= today + dt.timedelta(days=60):
        errors["change_date"] = ["异动日期须在一年以内，且不能晚于今天起60天。"]
    codes = dict(spec.reasons)
    if spec.reason_code_required and not data.reason_code:
        errors["reason_code"] = ["请选择异动原因。"]
    elif data.reason_code and data.reason_code not in codes:
        errors["reason_code"] = ["异动原因无效，请从列表中选择。"]
    needs_text = data.reason_code == "99" or spec.reason_text_required
    if needs_text and not data.reason_text.strip():
        errors["reason_text"] = ["请填写异动说明。"]
    if len(data.reason_text) > 500:
        errors["reason_text"] = ["异动说明不能超过500字。"]
    if spec.leave_dates:
        if data.leave_from is None:
            errors["leave_from"] = ["请填写休学开始日期。"]
        if data.leave_to is None:
            errors["leave_to"] = ["请填写休学截止日期。"]
        if data.leave_from and data.leave_to and data.leave_to <= data.leave_from:
            errors["leave_to"] = ["休学截止日期须晚于开始日期。"]
    if spec.kind == K.REPEAT_GRADE and data.reason_code == "99" and compulsory:
        errors["reason_code"] = [MSG_REPEAT_ORDERED]
    if spec.targets and data.target_status not in spec.targets:
        errors["target_status"] = ["请选择异动后的学籍状态。"]
    if spec.evidence_required and not uploads:
        errors["files"] = [MSG_EVIDENCE_REQUIRED.format(label=spec.label, hint=spec.hint)]
    if len(uploads) > MAX_EVIDENCE_FILES:
        errors["files"] = [f"佐证材料最多{MAX_EVIDENCE_FILES}个文件。"]
    return errors


def evidence_check(upload: Upload) -> str:
    """The content type of an acceptable proof: JPG/PNG/PDF of at most 2 MB whose
    content really is what the name says (sniffed with Pillow / the PDF header)."""
    from tenant_apps.registry.problems.services import evidence_check as sniff

    if len(upload.data) > MAX_EVIDENCE_BYTES:
        message = MSG_EVIDENCE_SIZE.format(name=upload.name)
        raise ApplicationError(message, code="upload", extra={"files": [message]})
    if not upload.data:
        message = f"佐证材料“{upload.name}”是空文件。"
        raise ApplicationError(message, code="upload", extra={"files": [message]})
    try:
        return sniff(name=upload.name, data=upload.data)
    except ApplicationError as exc:
        named = f"“{upload.name}”"
        message = exc.message if named in exc.message else f"{named}：{exc.message}"
        raise ApplicationError(message, code="upload", extra={"files": [message]}) from exc


def change_preview(student: Student, kind: str, *, on: dt.date | None = None) -> list[Blocker]:
    """What stops this change now (shown before the form is submitted)."""
    kind_spec(kind)
    return student_blockers(student, kind, on=on)


def _summary(student: Student) -> dict[str, str]:
    klass = student.school_class
    return {
        "name": mask_name(student.name),
        "id_number": mask_id_number(student.id_number),
        "class": klass.name,
        "grade": klass.grade_name,
        "status": student.get_status_display(),
    }


def _county_region() -> str:
    from tenants.models import School

    county = (
        School.objects.filter(schema_name=connection.schema_name)
        .values_list("county_id", flat=True)
        .first()
    )
    return str(county or "")


def change_submit(
    *, student_id: int, data: ChangeInput, uploads: list[Upload], actor: Actor
) -> StatusChange:
    """Check, then write the change, its evidence, its public case and the history
    entry in one transaction. Files stored before a failed write are removed again."""
    spec = kind_spec(data.kind)
    saved: list[str] = []
    try:
        with transaction.atomic(durable=True):
            return _submit(spec, student_id, data, uploads, actor, saved)
    except BaseException:
        for key in saved:
            default_storage.delete(key)
        raise


def _submit(
    spec: KindSpec,
    student_id: int,
    data: ChangeInput,
    uploads: list[Upload],
    actor: Actor,
    saved: list[str],
) -> StatusChange:
    from shared_apps.transfers.services import case_open, chain_in_school, chain_school_only

    student = (
        Student.objects.select_for_update()
        .select_related("school_class")
        .filter(pk=student_id)
        .first()
    )
    if student is None:
        raise ApplicationError("未找到该学生。", code="not_found")
    blockers = student_blockers(student, spec.kind)
    if blockers:
        raise ApplicationError(
            MSG_BLOCKED.format(label=spec.label, first=blockers[0].message),
            code="blocked",
            extra={"blockers": [f"{b.message}{b.advice}" for b in blockers]},
        )
    from tenant_apps.registry.changes.blockers import COMPULSORY_STAGES
    from tenant_apps.registry.changes.moves import check_target

    compulsory = student.school_class.stage in COMPULSORY_STAGES
    errors = _field_errors(spec, data, uploads, compulsory=compulsory)
    target = None
    if spec.moves:
        try:
            target = check_target(student, spec.moves, spec.label, data.target_class_id)
        except ApplicationError as exc:
            errors.update(exc.extra)
    if errors:
        raise ApplicationError("异动申请填写有误，请按提示修改。", code="invalid", extra=errors)
    types = [evidence_check(u) for u in uploads]
    school = current_school()
    to_status = spec.to_status or data.target_status
    change = StatusChange.objects.create(  # type: ignore[misc]
        student=student,
        kind=spec.kind,
        change_date=data.change_date,
        reason_code=data.reason_code,
        reason_text=data.reason_text.strip(),
        leave_from=data.leave_from if spec.leave_dates else None,
        leave_to=data.leave_to if spec.leave_dates else None,
        from_status=student.status,
        to_status=to_status,
        from_class=student.school_class if target else None,
        to_class=target,
        created_by=actor.username,
        created_by_label=actor.label,
    )
    stamp = f"{timezone.now():%Y%m%d%H%M%S}"
    for n, (upload, content_type) in enumerate(zip(uploads, types, strict=True), 1):
        key = evidence_save(f"changes/{change.pk}/{stamp}-{n}", upload.data, content_type)
        saved.append(key)
        ChangeEvidence.objects.create(
            change=change,
            file_key=key,
            original_name=upload.name[:200],
            content_type=content_type,
            size=len(upload.data),
            uploaded_by=actor.label,
        )
    case = case_open(
        kind=spec.kind,
        school_id=school.id,
        student_uuid=student.identifier,
        summary=_summary(student),
        chain=chain_in_school(school.id) if spec.county else chain_school_only(school.id),
        created_by=f"{actor.username}@{connection.schema_name}",
        payload={
            "change_id": change.pk,
            "change_date": data.change_date.isoformat() if data.change_date else "",
            "from_status": student.status,
            "to_status": to_status,
            "reason_code": data.reason_code,
            "leave_from": change.leave_from.isoformat() if change.leave_from else "",
            "leave_to": change.leave_to.isoformat() if change.leave_to else "",
            # A class name and number hold no PII; the bureau sees where the pupil goes.
            "to_class": target.name if target else "",
        },
    )
    change.case_id, change.case_number = case.pk, case.number
    change.save(update_fields=["case_id", "case_number"])
    event_add(
        [student.pk],
        actor=actor,
        action=f"申请学籍异动：{spec.label}（{case.number}）",
        reason=reason_line(change),
    )
    return change


def reason_line(change: StatusChange) -> str:
    spec = SPECS.get(change.kind)
    parts = []
    if spec and change.reason_code:
        parts.append(dict(spec.reasons).get(change.reason_code, change.reason_code))
    if change.leave_from and change.leave_to:
        parts.append(f"休学{change.leave_from:%Y-%m-%d}至{change.leave_to:%Y-%m-%d}")
    if change.to_class_id and change.from_class_id:
        parts.append(f"{change.from_class.name}→{change.to_class.name}")  # type: ignore[union-attr]
    if change.reason_text:
        parts.append(change.reason_text)
    return "；".join(parts)[:300]


# -- school decision and withdrawal -----------------------------------------------------


def _locked_change(change_id: int) -> StatusChange:
    change = (
        StatusChange.objects.select_for_update()
        .select_related("student")
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    return change


SCHOOL_STEP = 0  # chain_in_school: the school approver first, then the county bureau


@transaction.atomic(durable=True)
def change_school_decide(
    *, change_id: int, approve: bool, reason: str, actor: Actor, case_actor: CaseActor
) -> StatusChange:
    """学校审核: pass to the bureau (or, for 调班, take effect), or reject with a reason
    (the status stays). Never one's own application (`change_decision`, which also
    guards the generic case pages). A repeated click finds the case past the school
    step and changes nothing."""
    from shared_apps.transfers.models import Case
    from shared_apps.transfers.services import case_decide

    change = _locked_change(change_id)
    if change.state != StatusChange.State.OPEN or change.case_id is None:
        return change
    # The change's row lock serialises deciders; a case already past the school step is
    # a repeated click and changes nothing.
    if not Case.objects.filter(pk=change.case_id, state="open", step=SCHOOL_STEP).exists():
        return change
    if not approve and not reason.strip():
        raise ApplicationError(
            "退回时请填写原因。", code="invalid", extra={"reason": ["请填写退回原因。"]}
        )
    case_decide(
        case_id=change.case_id,
        actor=case_actor,
        approve=approve,
        reason=reason,
        step=SCHOOL_STEP,
    )
    change.refresh_from_db()
    return change


@transaction.atomic(durable=True)
def change_withdraw(
    *, change_id: int, reason: str, actor: Actor, case_actor: CaseActor
) -> StatusChange:
    """The school takes back its open application (the closing handler records it)."""
    from shared_apps.transfers.services import case_withdraw

    change = _locked_change(change_id)
    if change.case_id is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if not reason.strip():
        raise ApplicationError(
            "撤回时请填写原因。", code="invalid", extra={"reason": ["请填写撤回原因。"]}
        )
    case_withdraw(case_id=change.case_id, actor=case_actor, reason=reason)
    change.refresh_from_db()
    return change
