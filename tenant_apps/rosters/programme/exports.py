"""月度受益学生名册 as an Excel workbook: the page's rows, every cell through
common.spreadsheets, the export recorded in the audit log before it is handed out."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.audit import READ_EXPORT, audit_record
from common.spreadsheets import row_safe, write_only_cell
from tenant_apps.rosters.programme.selectors import MonthRoster

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (
    "序号",
    "姓名",
    "班级",
    "受益起始日期",
    "受益结束日期",
    "就餐天数",
    "补助标准（元/天）",
    "补助金额（元）",
)


def roster_workbook(*, school_name: str, roster: MonthRoster) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("受益学生名册")
    ws.append(row_safe(ws, [f"{school_name} · {roster.month.label}营养改善计划受益学生名册"]))
    ws.append(
        row_safe(
            ws,
            [
                f"本月在计划内的在校天数：{roster.school_days}天；受益学生{roster.pupils}人；"
                f"合计{roster.pupil_days}人天，{roster.amount:.2f}元"
            ],
        )
    )
    header = []
    for text in HEADERS:
        cell = write_only_cell(ws, text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(row_safe(ws, header))
    for n, r in enumerate(roster.rows, 1):
        until = f"{r.until:%Y-%m-%d}" if r.until else ""
        ws.append(
            row_safe(
                ws,
                [
                    n,
                    r.name,
                    r.class_name,
                    f"{r.since:%Y-%m-%d}",
                    until,
                    r.days,
                    r.standards,
                    float(r.amount),
                ],
            )
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def roster_export(*, school_name: str, roster: MonthRoster, request: Any) -> bytes:
    data = roster_workbook(school_name=school_name, roster=roster)
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="nutrition_roster",
        object_id=roster.month.value,
        object_repr=f"{roster.month.label}营养改善计划受益学生名册",
        after={"rows": len(roster.rows)},
    )
    return data
