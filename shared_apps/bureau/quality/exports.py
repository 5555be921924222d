"""Each quality list as an Excel workbook: the same masked rows as the page, every cell
written through common.spreadsheets, and the export recorded in the audit log."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.audit import READ_EXPORT, audit_record
from common.spreadsheets import row_safe, write_only_cell
from shared_apps.bureau.quality.selectors import quality_list
from tenant_apps.registry.facade import FIGURE_BY_KEY, QualityPage
from tenants.models import School

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ("序号", "姓名", "班级", "起始日期", "时长（天）", "说明")
CLASS_HEADERS = ("序号", "班级", "说明")


def attachment(name: str) -> str:
    """A download named in Chinese (RFC 5987), with a plain ASCII fallback."""
    return f"attachment; filename=\"quality.xlsx\"; filename*=UTF-8''{quote(name)}"


def figure_workbook(*, school: School, figure: str, page: QualityPage) -> bytes:
    label = FIGURE_BY_KEY[figure].label
    people = figure not in ("roster_missing", "roster_overdue")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(label[:31])
    ws.append(row_safe(ws, [f"{school.name} · {label}"]))
    ws.append(row_safe(ws, [f"共{page.total}{FIGURE_BY_KEY[figure].unit}"]))
    header = []
    for text in HEADERS if people else CLASS_HEADERS:
        cell = write_only_cell(ws, text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(row_safe(ws, header))
    for n, item in enumerate(page.items, 1):
        if people:
            since = f"{item.since:%Y-%m-%d}" if item.since else ""
            age = "" if item.age_days is None else item.age_days
            ws.append(row_safe(ws, [n, item.name, item.class_name, since, age, item.detail]))
        else:
            ws.append(row_safe(ws, [n, item.class_name, item.detail]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def figure_export(*, school: School, figure: str, request: Any) -> bytes:
    """The whole list (no paging) of one school's figure, audited before it is handed out."""
    page = quality_list(school=school, figure=figure, offset=0, limit=None)
    data = figure_workbook(school=school, figure=figure, page=page)
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="school",
        object_id=school.pk,
        object_repr=f"{school.name}：数据质量·{FIGURE_BY_KEY[figure].label}",
        after={"rows": page.total},
    )
    return data
