"""`rows_export`: a streaming (write-only) export in national column order."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from common.spreadsheets import row_safe, write_only_cell
from tenant_apps.registry.fields import (
    COLUMNS,
    Column,
)
from tenant_apps.registry.imports.columns import DATA_SHEET, INSTRUCTIONS_SHEET, RED, _column_width


def rows_export(
    *,
    rows: Iterable[dict[str, object]],
    columns: Sequence[Column] = COLUMNS,
    sheet: str = DATA_SHEET,
    marked: bool = False,
    notes: Sequence[tuple[str, str]] = (),
) -> bytes:
    """An .xlsx of records in national column order, streamed with openpyxl's write-only mode.

    Values are expected as display strings (labels, not codes); anything else is written as
    its str() so that long digit strings never turn into numbers. The sheet is named like the
    template's data sheet and uses its headers, so an export can be imported again.
    `marked` colours required headers red (a template); `notes` adds a 填写说明 sheet of
    (header, what to fill in) lines after the data sheet.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for ci, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(ci)].width = _column_width(column)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    red = Font(bold=True, color=RED)
    header: list[Cell] = []
    for column in columns:
        cell = write_only_cell(ws, column.header)
        cell.font = red if marked and column.required else bold
        header.append(cell)
    ws.append(row_safe(ws, header))
    keys = [column.key for column in columns]
    for record in rows:
        values: list[str | None] = []
        for key in keys:
            value = record.get(key)
            values.append(None if value is None or value == "" else str(value))
        ws.append(row_safe(ws, values))
    if notes:
        help_ws = wb.create_sheet(INSTRUCTIONS_SHEET)
        help_ws.column_dimensions["A"].width = 20
        help_ws.column_dimensions["B"].width = 80
        help_ws.append(row_safe(help_ws, ["列名", "填写说明"]))
        for line in notes:
            help_ws.append(row_safe(help_ws, list(line)))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
