"""Teacher records of the current school (教师信息管理, issue 13 point 4). Every entry
point is one transaction with one audit entry; refusals raise ApplicationError whose
`extra` keys are the input names and whose messages name the field (pages and the API
show them next to it).

* One record per staff member; the staff number (工号) is unique in the school and is
  also the username of the member's account, so a record and an account with the same
  number are linked (an account made after the record, on the record's next save).
* The ID number is checked by the pupils' rule (registry.validation.identifiers:
  GB 11643 shape, birth date, check character through python-stdnum) and against the sex.
  Two records with one ID number are refused.
* "Deactivate" (离职/退休) keeps the record for the history and may disable the linked
  account at the same time; only serving teachers (在职, 借调) are in the default list.
* The columns of a record (`TEACHER_COLUMNS`) are defined here; the export, the
  template and the Excel import over them are registry.teachers.workbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.models import User
from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_phone
from tenant_apps.registry.fields import Column
from tenant_apps.registry.models.teachers import (
    SERVING_STATUSES,
    Employment,
    Teacher,
    TeacherStatus,
    TeacherTitle,
)
from tenant_apps.registry.validation.cells import _SCIENTIFIC_RE
from tenant_apps.registry.validation.identifiers import (
    id_sex_problem,
    phone_valid,
    resident_id_problems,
    text_compact,
)
from tenant_apps.registry.validation.messages import (
    MSG_ID_AS_NUMBER,
    MSG_MAX_LENGTH,
    MSG_NAME_SPACE,
    MSG_PHONE,
    MSG_REQUIRED,
)

TEACHER_SHEET = "教师信息"
SEX_CHOICES = (("1", "男"), ("2", "女"))
TEACHER_COLUMNS: tuple[Column, ...] = (
    Column(1, "staff_no", "工号", "text", required=True, max_length=30),
    Column(2, "name", "姓名", "name", required=True, max_length=50),
    Column(3, "sex", "性别", "code", required=True),
    Column(4, "id_number", "身份证号", "id_number", max_length=18),
    Column(5, "phone", "联系电话", "phone", max_length=20),
    Column(6, "subject", "任教学科", "text", max_length=30),
    Column(7, "title", "职称", "code"),
    Column(8, "employment", "用工形式", "code"),
    Column(9, "status", "任职状态", "code"),
)
BY_KEY = {c.key: c for c in TEACHER_COLUMNS}
HEADERS = {c.key: c.header for c in TEACHER_COLUMNS}
# Code columns: what may be typed (the label or the stored code) and the default.
CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "sex": SEX_CHOICES,
    "title": tuple(TeacherTitle.choices),
    "employment": tuple(Employment.choices),
    "status": tuple(TeacherStatus.choices),
}
DEFAULTS = {
    "title": TeacherTitle.NONE.value,
    "employment": Employment.ESTABLISHED.value,
    "status": TeacherStatus.ACTIVE.value,
}
INACTIVE_CHOICES = tuple(
    (v, label) for v, label in TeacherStatus.choices if v not in SERVING_STATUSES
)
STAFF_NO_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.")

MSG_NOT_FOUND = "未找到该教师。"
MSG_STAFF_NO_CHARS = "工号只能包含字母、数字和“-_.”，现为“{value}”。"
MSG_CODE = "{header}“{value}”不是有效的值，请填写：{choices}。"
MSG_STAFF_NO_TAKEN = "工号：{staff_no} 已有教师记录（{name}）。"
MSG_ID_TAKEN = "身份证号：与工号 {staff_no} 的教师记录重复。"
MSG_DEACTIVATE_STATUS = "离职原因：请选择“离职”“退休”或“调出”。"
MSG_ALREADY_INACTIVE = "该教师已是“{status}”状态。"
MSG_REACTIVATE_SERVING = "该教师已是“{status}”状态，无需恢复。"


def _refuse(errors: Mapping[str, list[str]]) -> ApplicationError:
    first = next(iter(errors.values()))[0]
    return ApplicationError(first, code="invalid", extra={k: list(v) for k, v in errors.items()})


def _label(key: str, value: str) -> str:
    return dict(CHOICES[key]).get(value, value)


# -- checking one record ----------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _choice(key: str, given: str) -> str:
    """The code for a typed label or code; ValueError when it is neither."""
    compact = text_compact(given)
    for code, label in CHOICES[key]:
        if compact in (code, label) or given == label:
            return code
    if key == "sex" and compact in ("男性", "女性"):
        return "1" if compact == "男性" else "2"
    if key == "title" and compact.startswith("中小学") and compact != "中小学":
        # The title's full name (中小学一级教师), as the teacher-training platform has it.
        return _choice(key, compact.removeprefix("中小学"))
    raise ValueError(given)


def teacher_clean(raw: Mapping[str, object]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """A record's values checked and normalised, and the errors by field (each message
    names the field). Missing keys are empty; empty code fields take their default."""
    data: dict[str, str] = {}
    errors: dict[str, list[str]] = {}

    def fail(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    for column in TEACHER_COLUMNS:
        key, header = column.key, column.header
        given = raw.get(key)
        if key == "id_number" and isinstance(given, float | int) and abs(given) >= 10**15:
            # Excel kept the number as a float: its last digits are gone already.
            fail(key, MSG_ID_AS_NUMBER.format(header=header))
            data[key] = ""
            continue
        text = _text(given)
        if not text:
            if column.required:
                fail(key, MSG_REQUIRED.format(header=header))
            data[key] = DEFAULTS.get(key, "")
            continue
        if column.kind == "code":
            try:
                data[key] = _choice(key, text)
            except ValueError:
                choices = "、".join(label for _, label in CHOICES[key])
                fail(key, MSG_CODE.format(header=header, value=text[:30], choices=choices))
                data[key] = ""
            continue
        if column.kind in ("id_number", "phone") or key == "staff_no":
            text = text_compact(text)
        if column.kind == "id_number":
            text = text.upper()
            if "E" in text and _SCIENTIFIC_RE.fullmatch(text):
                # The float's text (4.30181E+17, as a CSV saved by Excel holds it).
                fail(key, MSG_ID_AS_NUMBER.format(header=header))
                data[key] = ""
                continue
        if len(text) > column.max_length and column.kind != "id_number":
            fail(
                key,
                MSG_MAX_LENGTH.format(header=header, limit=column.max_length, length=len(text)),
            )
        elif key == "staff_no" and not set(text) <= STAFF_NO_CHARS:
            fail(key, MSG_STAFF_NO_CHARS.format(value=text[:30]))
        elif column.kind == "name" and any(ch.isspace() for ch in text):
            fail(key, MSG_NAME_SPACE.format(header=header))
        elif column.kind == "phone" and not phone_valid(text):
            fail(key, MSG_PHONE.format(header=header, value=text[:30]))
        data[key] = text
    number = data["id_number"]
    if number and "id_number" not in errors:
        problems, _birth = resident_id_problems(
            number, header=HEADERS["id_number"], today=timezone.localdate()
        )
        for _code, message in problems:
            fail("id_number", message)
        well_formed = not (problems and problems[0][0] == "id_format")
        if well_formed and data["sex"] in ("1", "2"):
            message = id_sex_problem(number, data["sex"], header=HEADERS["id_number"])
            if message:
                fail("id_number", message)
    return data, errors


def _taken(data: Mapping[str, str], *, exclude: int | None = None) -> dict[str, list[str]]:
    """Staff number or ID number already on another record of the school."""
    errors: dict[str, list[str]] = {}
    others = Teacher.objects.exclude(pk=exclude) if exclude else Teacher.objects.all()
    same = others.filter(staff_no=data["staff_no"]).first()
    if same is not None:
        errors["staff_no"] = [MSG_STAFF_NO_TAKEN.format(staff_no=same.staff_no, name=same.name)]
    if data["id_number"]:
        twin = others.filter(id_number=data["id_number"]).first()
        if twin is not None:
            errors["id_number"] = [MSG_ID_TAKEN.format(staff_no=twin.staff_no)]
    return errors


def _audit_values(values: Mapping[str, str]) -> dict[str, str]:
    """A record's values under their Chinese labels, ID number and phone masked (the log
    is a list, and lists never show them in full)."""
    shown: dict[str, str] = {}
    for key, value in values.items():
        if key == "id_number":
            value = mask_id_number(value) if value else ""
        elif key == "phone":
            value = mask_phone(value) if value else ""
        elif key in CHOICES:
            value = _label(key, value)
        shown[HEADERS.get(key, "状态说明" if key == "status_note" else key)] = value
    return shown


def _record_values(teacher: Teacher) -> dict[str, str]:
    return {c.key: str(getattr(teacher, c.key) or "") for c in TEACHER_COLUMNS}


def _account(staff_no: str) -> User | None:
    return User.objects.filter(username=staff_no).first()


# -- writes -----------------------------------------------------------------------------


@transaction.atomic
def teacher_create(*, data: Mapping[str, object], actor: Actor, request: Any = None) -> Teacher:
    """Add a record; it is linked to the account whose username is the staff number."""
    values, errors = teacher_clean(data)
    if not errors:
        errors = _taken(values)
    if errors:
        raise _refuse(errors)
    teacher = Teacher(**values, user=_account(values["staff_no"]))
    if teacher.status not in SERVING_STATUSES:
        teacher.status_since = timezone.localdate()
    teacher.save()
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type="teacher",
        object_id=teacher.pk,
        object_repr=f"新增教师：{teacher}",
        after=_audit_values(values),
    )
    return teacher


@transaction.atomic
def teacher_update(
    *, teacher_id: int, data: Mapping[str, object], actor: Actor, request: Any = None
) -> Teacher:
    """Change a record (every field given; the staff number too, which re-links the
    account). Audited with the changed fields only, before and after."""
    teacher = Teacher.objects.select_for_update().filter(pk=teacher_id).first()
    if teacher is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    values, errors = teacher_clean(data)
    if not errors:
        errors = _taken(values, exclude=teacher.pk)
    if errors:
        raise _refuse(errors)
    old = _record_values(teacher)
    changed = {k for k, v in values.items() if old[k] != v}
    for key in changed:
        setattr(teacher, key, values[key])
    if "status" in changed:
        teacher.status_since = timezone.localdate()
    if "staff_no" in changed or teacher.user_id is None:
        # An account made after the record is linked on its next save.
        account = _account(values["staff_no"])
        taken = (
            account is not None
            and Teacher.objects.filter(user=account).exclude(pk=teacher.pk).exists()
        )
        teacher.user = None if taken else account
    teacher.save()
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type="teacher",
        object_id=teacher.pk,
        object_repr=f"修改教师：{teacher}" + ("" if changed else "（未改动）"),
        before=_audit_values({k: old[k] for k in changed}),
        after=_audit_values({k: values[k] for k in changed}),
    )
    return teacher


@transaction.atomic
def teacher_deactivate(
    *,
    teacher_id: int,
    status: str,
    note: str = "",
    disable_account: bool = False,
    actor: Actor,
    actor_user: User | None = None,
    request: Any = None,
) -> Teacher:
    """离职/退休/调出: the record stays (read-only history); with `disable_account` the
    linked account is disabled as well (signed out everywhere, tokens revoked)."""
    teacher = Teacher.objects.select_for_update().filter(pk=teacher_id).first()
    if teacher is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if status not in dict(INACTIVE_CHOICES):
        raise ApplicationError(
            MSG_DEACTIVATE_STATUS, code="invalid", extra={"status": [MSG_DEACTIVATE_STATUS]}
        )
    if teacher.status not in SERVING_STATUSES:
        message = MSG_ALREADY_INACTIVE.format(status=teacher.get_status_display())
        raise ApplicationError(message, code="invalid", extra={"status": [message]})
    before = {"status": teacher.status, "status_note": teacher.status_note}
    teacher.status = status
    teacher.status_note = note.strip()[:200]
    teacher.status_since = timezone.localdate()
    teacher.save(update_fields=["status", "status_note", "status_since", "updated_at"])
    after = {"status": teacher.status, "status_note": teacher.status_note}
    account = teacher.user
    if disable_account and account is not None and account.is_active:
        # The accounts service ends the sessions and tokens and audits the account.
        from accounts.services import user_set_active

        user_set_active(user=account, active=False, actor=actor_user, request=request)
        after["账号"] = "已停用"
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type="teacher",
        object_id=teacher.pk,
        object_repr=f"教师{teacher.get_status_display()}：{teacher}",
        before=_audit_values(before),
        after=_audit_values(after),
    )
    return teacher


@transaction.atomic
def teacher_reactivate(*, teacher_id: int, actor: Actor, request: Any = None) -> Teacher:
    """Back to 在职 (a teacher who returns); the account is not enabled here."""
    teacher = Teacher.objects.select_for_update().filter(pk=teacher_id).first()
    if teacher is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if teacher.status in SERVING_STATUSES:
        raise ApplicationError(
            MSG_REACTIVATE_SERVING.format(status=teacher.get_status_display()), code="invalid"
        )
    before = {"status": teacher.status}
    teacher.status = TeacherStatus.ACTIVE
    teacher.status_note = ""
    teacher.status_since = timezone.localdate()
    teacher.save(update_fields=["status", "status_note", "status_since", "updated_at"])
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type="teacher",
        object_id=teacher.pk,
        object_repr=f"教师恢复在职：{teacher}",
        before=_audit_values(before),
        after=_audit_values({"status": teacher.status}),
    )
    return teacher


# -- reads ------------------------------------------------------------------------------


def teacher_list(*, q: str = "", status: str = "serving") -> QuerySet[Teacher]:
    """Teachers by staff number. `q` finds a staff number, a name or a subject (part of
    it); `status` is "serving" (在职, 借调), "all" or one status."""
    teachers = Teacher.objects.select_related("user")
    if status == "serving":
        teachers = teachers.filter(status__in=SERVING_STATUSES)
    elif status in TeacherStatus.values:
        teachers = teachers.filter(status=status)
    q = q.strip()[:50]
    if q:
        teachers = teachers.filter(
            Q(staff_no__icontains=q) | Q(name__icontains=q) | Q(subject__icontains=q)
        )
    return teachers.order_by("staff_no")


def teacher_get(teacher_id: int) -> Teacher | None:
    return Teacher.objects.select_related("user").filter(pk=teacher_id).first()
