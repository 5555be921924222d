"""The teacher list as a workbook (教师信息管理, issue 13 point 4): the export, the import
template and the Excel import of registry.teachers.services' records. The import reads the
upload with the student importer's reader (registry.imports: the same sniffing, header
search, unknown and misspelt headers with suggestions, missing required columns) over
`TEACHER_SET`, and reports per row and field before anything is written
(`teachers_dry_run`); `teachers_import` runs the same checks again inside its transaction
and writes only then, with one audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.models import User
from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_phone
from tenant_apps.registry.imports import columns as workbooks
from tenant_apps.registry.imports.export import rows_export
from tenant_apps.registry.imports.reader import workbook_sheet
from tenant_apps.registry.imports.sniff import upload_sniff
from tenant_apps.registry.models.teachers import SERVING_STATUSES, Teacher
from tenant_apps.registry.teachers.services import (
    CHOICES,
    DEFAULTS,
    HEADERS,
    MSG_ID_TAKEN,
    MSG_STAFF_NO_TAKEN,
    TEACHER_COLUMNS,
    TEACHER_SHEET,
    _label,
    _record_values,
    _text,
    teacher_clean,
)

TEACHER_SET = workbooks.ColumnSet(
    by_header={c.header: c for c in TEACHER_COLUMNS},
    required=tuple(c for c in TEACHER_COLUMNS if c.required),
    data_sheet=TEACHER_SHEET,
    sheet_empty="工作表“{sheet}”是空的，请在模板的“教师信息”表中填写教师后上传",
)

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
