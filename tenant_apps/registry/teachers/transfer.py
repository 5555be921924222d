"""跨校转移 of a teacher (issue 13 point 4): a teacher moving to (调出) or lent to (借调)
another school of the platform is handed over through a business case between the two
schools (shared_apps.transfers' engine, kind TEACHER_TRANSFER): the sending school's
approver, then the receiving school's approver (学籍主管领导, right registry.approve).

The case, in the public schema, carries a masked summary and the record's id only; the
teacher's data stays in the sending school until the receiving school accepts. Then, in
the same transaction as the case's completion, the record is read in the sending schema
(as a frozen value), written into the receiving schema (linked to an account of the same
staff number there, if any; else, when the application asked for it, a new account of
that staff number with a one-time password that the receiving approver sees once on the
decision's page or answer) and the sending record becomes 调出 or 借调 with a note
naming the school and the case: the sender's history row. Each school's log gets an
entry. Nothing of the teacher is visible to the other school before the case exists,
and then only the masked summary until it is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.roles import Role
from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_name
from shared_apps.transfers.models import Case, CaseKind, CaseState, CaseStep
from shared_apps.transfers.services import (
    HandedOver,
    case_open,
    handed_over_give,
    register_closing,
    register_completion,
    register_detail,
    school_ref,
    school_step,
)
from tenant_apps.registry.models.teachers import SERVING_STATUSES, Teacher, TeacherStatus
from tenants.context import current_schema, school_context
from tenants.models import School

if TYPE_CHECKING:
    from accounts.models import User

MODES = {"move": "调出", "lend": "借调"}
MSG_MODE = "转移方式：请选择“调出”或“借调”。"
MSG_SCHOOL = "调入学校：平台上没有学校标识码为“{code}”的在用学校。"
MSG_SCHOOL_SELF = "调入学校：不能是本校。"
MSG_NOT_SERVING = "只有在职教师可以跨校转移（该教师为“{status}”）。"
MSG_OPEN = "该教师已有在办的跨校转移（{number}），请办结后再申请。"
MSG_TAKEN = "调入学校已有工号为 {staff_no} 的教师记录，不能接收；请调入学校先核对工号。"
MSG_GONE = "调出学校已没有该教师的记录，不能办结。"
MSG_NOT_SCHOOL = "当前不在学校域名下。"
MSG_ACCOUNT_TAKEN = (
    "调入学校已有用户名为 {staff_no} 的账号且已关联其他教师，不能为该教师开通账号；"
    "请调入学校先核对工号。"
)
# The account opened for an arriving teacher: the basic teaching role (member of 全体教师);
# the receiving school grants 班主任 or 任课教师 on its 用户管理 page.
ARRIVAL_ROLE = Role.ALL_TEACHERS
ACCOUNT_OPENED, ACCOUNT_LINKED, ACCOUNT_NONE = "opened", "linked", "none"
ACCOUNT_LABELS = {
    ACCOUNT_OPENED: "已为调入学校开通账号",
    ACCOUNT_LINKED: "已关联调入学校的原有账号",
    ACCOUNT_NONE: "未开通账号",
}


@dataclass(frozen=True)
class _Record:
    """A teacher's values as read in the sending school (no model crosses schemas)."""

    staff_no: str
    name: str
    sex: str
    id_number: str
    phone: str
    subject: str
    title: str
    employment: str


def _here() -> School:
    school = School.objects.schools().filter(schema_name=current_schema()).first()
    if school is None:
        raise ApplicationError(MSG_NOT_SCHOOL, code="not_found")
    return school


def _open_case(school_id: int, teacher_id: int) -> Case | None:
    return Case.objects.filter(
        kind=CaseKind.TEACHER_TRANSFER,
        other_school_id=school_id,
        state=CaseState.OPEN,
        payload__teacher_id=teacher_id,
    ).first()


@transaction.atomic
def teacher_transfer_start(
    *,
    teacher_id: int,
    to_school_code: str,
    mode: str,
    reason: str,
    actor: Actor,
    open_account: bool = False,
) -> Case:
    """The sending school (the current schema) opens the case for one of its serving
    teachers. Its chain: 调出学校审核 → 调入学校接收. `open_account`: 为调入学校开通账号
    when the receiving school has no account of that staff number."""
    if mode not in MODES:
        raise ApplicationError(MSG_MODE, code="invalid", extra={"mode": [MSG_MODE]})
    sending = _here()
    code = (to_school_code or "").strip()
    receiving = School.objects.serving().filter(code=code).first()
    if receiving is None:
        message = MSG_SCHOOL.format(code=code[:20])
        raise ApplicationError(message, code="invalid", extra={"to_school_code": [message]})
    if receiving.pk == sending.pk:
        raise ApplicationError(
            MSG_SCHOOL_SELF, code="invalid", extra={"to_school_code": [MSG_SCHOOL_SELF]}
        )
    teacher = Teacher.objects.select_for_update().filter(pk=teacher_id).first()
    if teacher is None:
        raise ApplicationError("未找到该教师。", code="not_found")
    if teacher.status not in SERVING_STATUSES:
        raise ApplicationError(
            MSG_NOT_SERVING.format(status=teacher.get_status_display()), code="invalid"
        )
    existing = _open_case(sending.pk, teacher.pk)
    if existing is not None:
        raise ApplicationError(MSG_OPEN.format(number=existing.number), code="busy")
    # The case is applied for by the sending school: it is `other_school` (转出学校) and
    # `school` is the receiving one, as in a student transfer.
    case = case_open(
        kind=CaseKind.TEACHER_TRANSFER,
        school_id=receiving.pk,
        other_school_id=sending.pk,
        student_uuid=None,
        summary={"name": mask_name(teacher.name), "school": sending.name},
        chain=[
            school_step(school_ref(sending.pk), "调出学校审核"),
            school_step(school_ref(receiving.pk), "调入学校接收"),
        ],
        created_by=f"{actor.username}@{actor.schema}",
        payload={
            "teacher_id": teacher.pk,
            "mode": mode,
            "reason": reason.strip()[:300],
            "open_account": bool(open_account),
            "sending_school": sending.name,
            "receiving_school": receiving.name,
            "applied_on": timezone.localdate().isoformat(),
        },
    )
    audit_record(
        actor=actor,
        action=WRITE,
        object_type="teacher",
        object_id=teacher.pk,
        object_repr=f"申请教师{MODES[mode]}：{teacher} → {receiving.name}（{case.number}）",
    )
    return case


def teacher_transfer_complete(case: Case) -> None:
    """The receiving school accepted: copy the record over and leave the history row
    behind, in the case's transaction (a refusal rolls everything back)."""
    sending = School.objects.get(pk=case.other_school_id)
    receiving = School.objects.get(pk=case.school_id)
    mode = str(case.payload.get("mode", "move"))
    teacher_id = int(case.payload["teacher_id"])
    with school_context(sending.schema_name):
        teacher = Teacher.objects.select_for_update().filter(pk=teacher_id).first()
        if teacher is None:
            raise ApplicationError(MSG_GONE, code="move")
        record = _Record(
            staff_no=teacher.staff_no,
            name=teacher.name,
            sex=teacher.sex,
            id_number=teacher.id_number,
            phone=teacher.phone,
            subject=teacher.subject,
            title=teacher.title,
            employment=teacher.employment,
        )
    with school_context(receiving.schema_name):
        from accounts.models import User

        if Teacher.objects.filter(staff_no=record.staff_no).exists():
            raise ApplicationError(MSG_TAKEN.format(staff_no=record.staff_no), code="move")
        account = User.objects.filter(username=record.staff_no).first()
        if account is not None and Teacher.objects.filter(user=account).exists():
            account = None
        if record.id_number and Teacher.objects.filter(id_number=record.id_number).exists():
            # The same person is already on the receiving school's list under another
            # staff number: the ID number stays unique there.
            raise ApplicationError(MSG_TAKEN.format(staff_no=record.staff_no), code="move")
        outcome = ACCOUNT_LINKED if account is not None else ACCOUNT_NONE
        if account is None and case.payload.get("open_account"):
            account = _account_open(case, record)
            outcome = ACCOUNT_OPENED
        arrived = Teacher.objects.create(
            **record.__dict__,
            status=TeacherStatus.ACTIVE,
            status_note=f"{'调入' if mode == 'move' else '借调'}自{sending.name}（{case.number}）",
            status_since=timezone.localdate(),
            user=account,
        )
        audit_record(
            actor=case.created_by,
            action=WRITE,
            object_type="teacher",
            object_id=arrived.pk,
            object_repr=f"接收教师：{arrived}（{case.number}，自{sending.name}）",
        )
    with school_context(sending.schema_name):
        teacher = Teacher.objects.get(pk=teacher_id)
        teacher.status = TeacherStatus.TRANSFERRED if mode == "move" else TeacherStatus.LENT
        teacher.status_note = f"{MODES[mode]}至{receiving.name}（{case.number}）"
        teacher.status_since = timezone.localdate()
        teacher.save(update_fields=["status", "status_note", "status_since", "updated_at"])
        audit_record(
            actor=case.created_by,
            action=WRITE,
            object_type="teacher",
            object_id=teacher.pk,
            object_repr=f"教师{MODES[mode]}：{teacher}（{case.number}，至{receiving.name}）",
        )
    case.payload = {
        **case.payload,
        "moved_on": timezone.localdate().isoformat(),
        "account": outcome,
    }


def _decider(case: Case) -> str:
    """The receiving approver whose approval completes the case (its step is recorded
    before the completion runs), as "username@schema"."""
    step = (
        case.steps.filter(action=CaseStep.Action.APPROVE, step=case.step)
        .order_by("-at", "-id")
        .first()
    )
    return step.actor if step is not None else case.created_by


def _account_open(case: Case, record: _Record) -> User:
    """In the receiving schema: the arriving teacher's account (username = staff number,
    role 全体教师, must change the password at first login), audited in that school's
    log; the one-time password goes to the deciding approver only (never stored)."""
    from accounts.models import User
    from accounts.services import user_create

    if User.objects.filter(username=record.staff_no).exists():
        # That account belongs to another teacher record there.
        raise ApplicationError(MSG_ACCOUNT_TAKEN.format(staff_no=record.staff_no), code="move")
    created = user_create(
        username=record.staff_no, full_name=record.name[:50], roles=[str(ARRIVAL_ROLE)]
    )
    audit_record(
        actor=_decider(case),
        action=WRITE,
        object_type="user",
        object_id=created.user_id,
        object_repr=f"为调入教师开通账号：{record.name}（{record.staff_no}，{case.number}）",
        after={"用户名": created.username, "角色": ARRIVAL_ROLE.label, "首次登录须修改密码": True},
    )
    handed_over_give(
        HandedOver(
            label=f"调入教师 {record.name} 的账号",
            username=created.username,
            password=created.initial_password,
        )
    )
    return User.objects.get(pk=created.user_id)


def teacher_transfer_closed(case: Case) -> None:
    """Rejected or withdrawn: nothing was reserved, so nothing to release."""


def teacher_transfer_detail(case: Case) -> list[tuple[str, str]]:
    p = case.payload
    lines = [
        ("转移方式", MODES.get(str(p.get("mode", "")), "")),
        ("调出学校", str(p.get("sending_school", ""))),
        ("调入学校", str(p.get("receiving_school", ""))),
        ("原因", str(p.get("reason", ""))),
        ("为调入学校开通账号", "是" if p.get("open_account") else "否"),
    ]
    if p.get("account") in ACCOUNT_LABELS:
        lines.append(("调入学校账号", ACCOUNT_LABELS[str(p["account"])]))
    if p.get("moved_on"):
        lines.append(("办结日期", str(p["moved_on"])))
    return lines


def register_teacher_transfer() -> None:
    register_completion(CaseKind.TEACHER_TRANSFER, teacher_transfer_complete)
    register_closing(CaseKind.TEACHER_TRANSFER, teacher_transfer_closed)
    register_detail(CaseKind.TEACHER_TRANSFER, teacher_transfer_detail)
