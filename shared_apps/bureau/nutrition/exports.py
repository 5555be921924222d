"""The county's monthly counts per programme school as an Excel workbook, every cell
through common.spreadsheets, recorded in the audit log before it is handed out."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.audit import READ_EXPORT, audit_record
from common.spreadsheets import row_safe, write_only_cell
from shared_apps.bureau.nutrition.selectors import MonthCounts

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (
    "序号",
    "县（市、区）",
    "学校",
    "在校天数",
    "受益学生（人）",
    "就餐人天",
    "补助金额（元）",
)


def counts_workbook(counts: MonthCounts) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("受益学生统计")
    ws.append(row_safe(ws, [f"{counts.month.label}营养改善计划受益学生统计"]))
    header = []
    for text in HEADERS:
        cell = write_only_cell(ws, text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(row_safe(ws, header))
    for n, r in enumerate(counts.rows, 1):
        ws.append(
            row_safe(
                ws,
                [
                    n,
                    r.county_name,
                    r.school_name,
                    r.school_days,
                    r.beneficiaries,
                    r.pupil_days,
                    float(r.amount),
                ],
            )
        )
    ws.append(
        row_safe(
            ws,
            ["合计", "", "", "", counts.beneficiaries, counts.pupil_days, float(counts.amount)],
        )
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def counts_export(*, counts: MonthCounts, request: Any) -> bytes:
    data = counts_workbook(counts)
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="nutrition_counts",
        object_id=counts.month.value,
        object_repr=f"{counts.month.label}营养改善计划受益学生统计",
        after={"rows": len(counts.rows)},
    )
    return data
