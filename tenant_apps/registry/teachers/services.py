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
* The Excel import reads the upload with the student importer's reader
  (registry.imports: the same sniffing, header search, unknown and misspelt headers
  with suggestions, missing required columns) over `TEACHER_SET`, and reports per row
  and field before anything is written (`teachers_dry_run`); `teachers_import` runs the
  same checks again inside its transaction and writes only then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.models import User
from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_phone
from tenant_apps.registry.fields import Column
from tenant_apps.registry.imports import columns as workbooks
from tenant_apps.registry.imports.export import rows_export
from tenant_apps.registry.imports.reader import workbook_sheet
from tenant_apps.registry.imports.sniff import upload_sniff
from tenant_apps.registry.models.teachers import (
    SERVING_STATUSES,
    Employment,
    Teacher,
    TeacherStatus,
    TeacherTitle,
)
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
TEACHER_SET = workbooks.ColumnSet(
    by_header={c.header: c for c in TEACHER_COLUMNS},
    required=tuple(c for c in TEACHER_COLUMNS if c.required),
    data_sheet=TEACHER_SHEET,
    sheet_empty="工作表“{sheet}”是空的，请在模板的“教师信息”表中填写教师后上传",
)
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
MSG_DUP_IN_FILE = "{header}与本文件第 {other} 行重复。"
MSG_IMPORT_NONE = "文件中没有可导入的教师。"
MSG_IMPORT_ALL = "有 {n} 行不能导入；选择“全部正确才导入”时，请先改正后重新上传。"
MSG_IMPORT_HEADERS_ALL = (
    "文件中有无法识别的列：{headers}。选择“全部正确才导入”时，请先把列名改成模板的列名。"
)
MSG_IMPORT_HEADERS_ACK = (
    "文件中有无法识别的列：{headers}，其内容不会导入。请勾选“我已知晓”后再确认导入。"
)

MODE_VALID_ONLY = "valid_only"
MODE_ALL_OR_NOTHING = "all_or_nothing"


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


def teacher_export_rows(teachers: Sequence[Teacher]) -> list[dict[str, object]]:
    """Rows for the export in the template's columns (labels, ID numbers masked): the
    export is a list, and lists show ID numbers and phones masked."""
    rows: list[dict[str, object]] = []
    for t in teachers:
        values = _record_values(t)
        values["id_number"] = mask_id_number(values["id_number"]) if values["id_number"] else ""
        values["phone"] = mask_phone(values["phone"]) if values["phone"] else ""
        for key in CHOICES:
            values[key] = _label(key, values[key])
        rows.append(values)  # type: ignore[arg-type]
    return rows


def teachers_export(teachers: Sequence[Teacher]) -> bytes:
    return rows_export(
        rows=teacher_export_rows(teachers), columns=TEACHER_COLUMNS, sheet=TEACHER_SHEET
    )


def teacher_template() -> bytes:
    """The downloadable import template: the header (required columns red) and a
    填写说明 sheet naming what each column takes."""
    notes = []
    for column in TEACHER_COLUMNS:
        mark = "必填" if column.required else "选填"
        if column.key in CHOICES:
            hint = "填写其中之一：" + "、".join(label for _, label in CHOICES[column.key])
            if column.key in DEFAULTS:
                hint += f"；不填时为“{_label(column.key, DEFAULTS[column.key])}”"
        elif column.key == "id_number":
            hint = "18位居民身份证号，末位可为X；请把该列设置为“文本”格式"
        elif column.key == "staff_no":
            hint = "本校唯一；与教师登录账号的用户名相同时自动关联账号"
        elif column.key == "phone":
            hint = "手机为1开头的11位数字，固定电话如“0731-83456789”"
        else:
            hint = f"不超过{column.max_length}个字"
        notes.append((column.header, f"{mark}。{hint}"))
    return rows_export(
        rows=[], columns=TEACHER_COLUMNS, sheet=TEACHER_SHEET, marked=True, notes=notes
    )


# -- import -----------------------------------------------------------------------------


@dataclass
class TeacherDryRun:
    """What an upload would import: the valid rows with their values, every error by
    row and field, and the header cells that are no template column."""

    total: int = 0
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    headers_unknown: list[dict[str, Any]] = field(default_factory=list)
    invalid_rows: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {"total": self.total, "valid": len(self.rows), "invalid": self.invalid_rows}


def _row_error(row: int, key: str, value: object, message: str) -> dict[str, Any]:
    header = HEADERS.get(key, "")
    shown = _text(value)
    if key == "id_number" and shown:
        shown = mask_id_number(shown)
    elif key == "phone" and shown:
        shown = mask_phone(shown)
    return {"row": row, "field": key, "header": header, "value": shown[:40], "message": message}


def teachers_dry_run(*, name: str, data: bytes) -> TeacherDryRun:
    """Check an upload without writing. A file that cannot be read or lacks a required
    column (named, with the misspelt header that may be it) is an ApplicationError on
    the field "file"."""
    try:
        fmt = upload_sniff(name=name, data=data)
        sheet = workbook_sheet(data=data, fmt=fmt, columns=TEACHER_SET)
    except workbooks.UploadRejected as exc:
        raise ApplicationError(exc.message, code="upload", extra={"file": [exc.message]}) from exc
    report = TeacherDryRun(headers_unknown=list(sheet.layout.unknown))
    staff = {t.staff_no: t for t in Teacher.objects.only("staff_no", "name", "id_number")}
    ids = {t.id_number: t for t in staff.values() if t.id_number}
    seen_staff: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for row_no, raw in sheet.records():
        report.total += 1
        values, errors = teacher_clean(raw)
        row_errors = [
            _row_error(row_no, key, raw.get(key), message)
            for key, messages in errors.items()
            for message in messages
        ]
        staff_no, number = values["staff_no"], values["id_number"]
        if staff_no and "staff_no" not in errors:
            if staff_no in seen_staff:
                message = MSG_DUP_IN_FILE.format(header="工号", other=seen_staff[staff_no])
                row_errors.append(_row_error(row_no, "staff_no", staff_no, message))
            elif staff_no in staff:
                message = MSG_STAFF_NO_TAKEN.format(staff_no=staff_no, name=staff[staff_no].name)
                row_errors.append(_row_error(row_no, "staff_no", staff_no, message))
            seen_staff.setdefault(staff_no, row_no)
        if number and "id_number" not in errors:
            if number in seen_ids:
                message = MSG_DUP_IN_FILE.format(header="身份证号", other=seen_ids[number])
                row_errors.append(_row_error(row_no, "id_number", number, message))
            elif number in ids:
                message = MSG_ID_TAKEN.format(staff_no=ids[number].staff_no)
                row_errors.append(_row_error(row_no, "id_number", number, message))
            seen_ids.setdefault(number, row_no)
        if row_errors:
            report.invalid_rows += 1
            report.errors.extend(row_errors)
        else:
            report.rows.append((row_no, values))
    return report


def teachers_upload_keep(*, name: str, data: bytes) -> str:
    """Store a checked upload until its confirmation (under the school's prefix, with a
    random part in the name); returns the storage key."""
    suffix = name.rsplit(".", 1)[-1].lower()[:5] if "." in name else "xlsx"
    return default_storage.save(f"imports/teachers/upload.{suffix}", ContentFile(data))


def teachers_upload_take(key: str) -> bytes | None:
    """The stored upload (None when gone); it is deleted once read."""
    if not key.startswith("imports/teachers/") or not default_storage.exists(key):
        return None
    with default_storage.open(key, "rb") as f:
        data = f.read()
    default_storage.delete(key)
    return data  # type: ignore[no-any-return]


@transaction.atomic
def teachers_import(
    *,
    name: str,
    data: bytes,
    mode: str,
    acknowledge_headers: bool = False,
    actor: Actor,
    request: Any = None,
) -> TeacherDryRun:
    """Write the rows of an upload after checking them again (the school may have
    changed since the dry run). `mode` is MODE_VALID_ONLY (the faulty rows are left
    out, and unknown columns must be acknowledged) or MODE_ALL_OR_NOTHING (refused
    unless every row and header is right). One audit entry lists the staff numbers."""
    # Staff numbers are unique per school: the lock (per schema, held to the commit)
    # keeps two imports of one file from both passing the check before either writes.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"teachers:{connection.schema_name}"]
        )
    from tenant_apps.registry.imports.pipeline import headers_unknown_text  # the pupils' wording

    report = teachers_dry_run(name=name, data=data)
    unknown = report.headers_unknown
    if mode == MODE_ALL_OR_NOTHING:
        if report.invalid_rows:
            raise ApplicationError(MSG_IMPORT_ALL.format(n=report.invalid_rows), code="invalid")
        if unknown:
            raise ApplicationError(
                MSG_IMPORT_HEADERS_ALL.format(headers=headers_unknown_text(unknown)), code="invalid"
            )
    elif unknown and not acknowledge_headers:
        raise ApplicationError(
            MSG_IMPORT_HEADERS_ACK.format(headers=headers_unknown_text(unknown)),
            code="acknowledge_headers",
        )
    if not report.rows:
        raise ApplicationError(MSG_IMPORT_NONE, code="invalid")
    # Accounts of the imported staff numbers that no teacher record holds yet (one query).
    accounts = {
        u.username: u
        for u in User.objects.filter(username__in=[v["staff_no"] for _, v in report.rows]).exclude(
            pk__in=Teacher.objects.filter(user__isnull=False).values("user_id")
        )
    }
    today = timezone.localdate()
    Teacher.objects.bulk_create(
        Teacher(
            **values,
            user=accounts.get(values["staff_no"]),
            status_since=None if values["status"] in SERVING_STATUSES else today,
        )
        for _, values in report.rows
    )
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type="teacher",
        object_repr=f"导入教师 {len(report.rows)} 名（{name[:60]}）",
        after={"工号": [v["staff_no"] for _, v in report.rows]},
    )
    return report
