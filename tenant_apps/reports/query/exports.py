"""综合查询's Excel export: the chosen columns of every result row, masked as in every
list unless the reader may see the numbers and asked for them in full; each export is
recorded in the audit log with its definition and row count before the file is handed
out, as registry.students.exports.students_export records the roster's."""

from __future__ import annotations

import io
from typing import Any

from django.db.models import QuerySet
from openpyxl import Workbook

from accounts.audit import READ_EXPORT, READ_EXPORT_FULL, audit_record
from accounts.roles import Right
from common.permissions import has_any_right
from common.spreadsheets import row_safe
from tenant_apps.registry.models import Student
from tenant_apps.reports.query.definition import COLUMNS, Definition
from tenant_apps.reports.query.selectors import query_iter

# Export and print: 打印中心 (the print/export of 综合查询) or 数据导入导出.
EXPORT_RIGHTS = (Right.REPORTS_PRINT, Right.DATA_MANAGE)
# Numbers in full: the rights that may reveal a student's page (registry reveal.py); the
# class scope is already applied to the rows.
FULL_RIGHTS = (Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN)


def full_allowed(user: Any) -> bool:
    return has_any_right(user, FULL_RIGHTS)


def query_export(
    qs: QuerySet[Student], definition: Definition, *, request: Any, full: bool
) -> tuple[bytes, int]:
    """(the .xlsx, rows). `full` is honoured only for a reader who may see the numbers."""
    full = full and full_allowed(request.user)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("综合查询")
    ws.append(row_safe(ws, [COLUMNS[k].label for k in definition.columns]))
    rows = 0
    for row in query_iter(qs, definition.columns, full=full):
        rows += 1
        ws.append(row_safe(ws, [row[k] or None for k in definition.columns]))
    buffer = io.BytesIO()
    wb.save(buffer)
    audit_record(
        request=request,
        action=READ_EXPORT_FULL if full else READ_EXPORT,
        object_type="student",
        after={"rows": rows, "filters": definition.as_json(), "source": "reports.query"},
    )
    return buffer.getvalue(), rows
