"""Dashboard tables as Excel workbooks, through common.spreadsheets (text never becomes a
formula). Counts only; each export is still written to the bureau's audit log with its
table, scope and row count, like every other export."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.audit import READ_EXPORT, audit_record
from common.spreadsheets import row_safe, write_only_cell
from shared_apps.bureau.dashboard.selectors import DashTable, Scope

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_workbook(table: DashTable, *, scope: Scope, as_of: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table.title[:31])
    ws.append(row_safe(ws, [f"{scope.title} {table.title}"]))
    ws.append(row_safe(ws, [f"统计日期：{as_of}"]))
    if table.note:
        ws.append(row_safe(ws, [table.note]))
    header = []
    for text in ["项目", *table.columns]:
        cell = write_only_cell(ws, text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(row_safe(ws, header))
    for row in table.rows:
        ws.append(row_safe(ws, [row.label, *row.values]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_filename(table: DashTable, scope: Scope, as_of: str) -> str:
    return f"{scope.title}-{table.title}-{as_of}.xlsx"


def table_export(table: DashTable, *, scope: Scope, as_of: str, request: Any) -> bytes:
    """The workbook, recorded in the audit log before it is handed out."""
    data = table_workbook(table, scope=scope, as_of=as_of)
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="dashboard",
        object_id=table.key,
        object_repr=f"{scope.title} {table.title}",
        after={"rows": len(table.rows), "scope": scope.query()},
    )
    return data
