"""A 查询统计 table as an Excel workbook. Counts are no personal data, but every export
is recorded in the audit log with its table, filters and row count like any other."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.audit import READ_EXPORT, audit_record
from common.spreadsheets import row_safe, write_only_cell
from tenant_apps.reports.stats.selectors import Params, Table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_workbook(table: Table) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table.title[:31])
    ws.append(row_safe(ws, [table.title]))
    if table.as_of is not None:
        ws.append(row_safe(ws, [f"统计日期：{table.as_of:%Y-%m-%d}"]))
    if table.note:
        ws.append(row_safe(ws, [table.note]))
    header = []
    for text in ["项目", *table.columns]:
        cell = write_only_cell(ws, text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(row_safe(ws, header))
    for label, values in table.rows:
        ws.append(row_safe(ws, [label, *values]))
    if table.pupils:
        ws.append(row_safe(ws, []))
        ws.append(row_safe(ws, ["姓名", "班级", "异动类型", "异动日期"]))
        for pupil in table.pupils:
            ws.append(row_safe(ws, list(pupil)))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def table_export(table: Table, *, params: Params, request: Any) -> bytes:
    """The workbook, recorded in the audit log before it is handed out."""
    data = table_workbook(table)
    filters = {
        k: str(v)
        for k, v in (
            ("date", params.date),
            ("start", params.start),
            ("end", params.end),
            ("grade", params.grade),
        )
        if v
    }
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="stats",
        object_id=table.key,
        object_repr=table.title,
        after={"rows": len(table.rows) + len(table.pupils), "filters": filters},
    )
    return data
