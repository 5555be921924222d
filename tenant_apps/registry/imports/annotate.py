"""`workbook_annotate`: the upload handed back with the problem cells marked."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from common.spreadsheets import cell_put, cell_text_safe, row_safe, write_only_cell
from tenant_apps.registry.fields import (
    BY_KEY,
)
from tenant_apps.registry.imports.columns import (
    ANNOTATION_AUTHOR,
    DATA_SHEET,
    ERROR_FILL_RGB,
    ERROR_HEADER,
    HEADER_SEARCH_ROWS,
    MSG_NORMALISED,
    MSG_UNREADABLE,
    NORMALISED_FILL_RGB,
    RED,
    UploadRejected,
)
from tenant_apps.registry.imports.reader import (
    _calamine_rows,
    _calamine_sheet,
    _cell_convert,
    _csv_grid,
    _layout_find,
)

# Above this many cells (about 7,000 full rows) an uploaded .xlsx is annotated by rebuilding
# it in write-only mode rather than editing it with openpyxl: see _annotate_xlsx.
ANNOTATE_IN_PLACE_MAX_CELLS = 500_000


def _error_fill() -> PatternFill:
    return PatternFill(fill_type="solid", start_color=ERROR_FILL_RGB, end_color=ERROR_FILL_RGB)


def _message_line(key: str, message: str) -> str:
    column = BY_KEY.get(key)
    if column is None or message.startswith(column.header):
        return message
    return f"{column.header}：{message}"


def _normalised_fill() -> PatternFill:
    return PatternFill(
        fill_type="solid", start_color=NORMALISED_FILL_RGB, end_color=NORMALISED_FILL_RGB
    )


Normalisations = dict[int, list[tuple[str, str]]]  # Excel row -> (Column.key, value stored)


def _comment(messages: list[str]) -> Comment:
    text = "\n".join(messages)
    return Comment(text, ANNOTATION_AUTHOR, height=40 + 20 * len(messages), width=280)


def _annotate_xlsx(
    data: bytes, errors: dict[int, list[tuple[str, str]]], normalised: Normalisations
) -> bytes:
    # Marking the uploaded file itself keeps the user's formatting, drop-downs and other
    # sheets, but openpyxl's normal mode holds every cell as a Python object: measured here
    # (no lxml) about 3 s to load and 1.3 s to save per 1,000 rows of 71 columns, and about
    # 35 KB of memory per row. The read-only and write-only modes cannot modify a sheet and
    # calamine cannot write, so big sheets are rebuilt from the read values instead.
    sheet = _calamine_sheet(data)
    height, width = (sheet.end or (0, 0))[0] + 1, (sheet.end or (0, 0))[1] + 1
    if height * width > ANNOTATE_IN_PLACE_MAX_CELLS:
        return _annotate_rebuilt(_calamine_rows(sheet), errors, normalised)
    name = sheet.name
    try:
        wb = load_workbook(io.BytesIO(data), rich_text=False, keep_links=False)
    except (
        InvalidFileException,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        OSError,
    ):
        raise UploadRejected(MSG_UNREADABLE) from None
    ws = wb[name]
    head = [list(r) for r in ws.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True)]
    layout = _layout_find(head, strict=False)
    header_row = layout.header_index + 1
    column_of = {c.key: ci + 1 for c, ci in layout.positions}

    if ERROR_HEADER in layout.headers:
        # A previously annotated file came back: clear the old marks so fixed cells stop
        # looking wrong. This walks every cell once, only in this case.
        error_col = layout.headers.index(ERROR_HEADER) + 1
        for row in ws.iter_rows(min_row=header_row + 1):
            for cell in row:
                if cell.comment is not None and cell.comment.author == ANNOTATION_AUTHOR:
                    cell.comment = None
                if cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb in {
                    ERROR_FILL_RGB,
                    NORMALISED_FILL_RGB,
                }:
                    cell.fill = PatternFill(fill_type=None)
            if len(row) >= error_col:
                cell_text_safe(row[error_col - 1], None)  # type: ignore[arg-type]
    elif layout.positions:
        # Right of the last header: the user's view of "the last column". Styled empty cells
        # (ws.max_column) could push it arbitrarily far right.
        error_col = max(i + 1 for i, h in enumerate(layout.headers) if h) + 1
    else:
        error_col = min(ws.max_column + 1, 16384)

    header_cell = cell_put(ws, header_row, error_col, ERROR_HEADER)
    header_cell.font = Font(bold=True, color=RED)
    ws.column_dimensions[get_column_letter(error_col)].width = 60
    wrap = Alignment(wrap_text=True, vertical="top")
    for row_number, changes in normalised.items():
        for key, after in changes:
            ci = column_of.get(key)
            if ci is None or any(k == key for k, _m in errors.get(row_number, ())):
                continue  # an error mark on the same cell says more
            cell = ws.cell(row=row_number, column=ci)
            if isinstance(cell, MergedCell):
                continue
            cell.fill = _normalised_fill()
            cell.comment = _comment([MSG_NORMALISED.format(after=after)])
    for row_number, problems in sorted(errors.items()):
        by_cell: dict[int, list[str]] = {}
        for key, message in problems:
            ci = column_of.get(key)
            if ci is not None:
                by_cell.setdefault(ci, []).append(message)
        for ci, messages in by_cell.items():
            cell = ws.cell(row=row_number, column=ci)
            if isinstance(cell, MergedCell):
                continue  # the template forbids merging; such a cell cannot carry marks
            cell.fill = _error_fill()
            cell.comment = _comment(messages)
        note = cell_put(
            ws, row_number, error_col, "；".join(_message_line(k, m) for k, m in problems)
        )
        note.alignment = wrap
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _annotate_rebuilt(
    rows: Iterator[list[object]],
    errors: dict[int, list[tuple[str, str]]],
    normalised: Normalisations,
) -> bytes:
    """xls and csv uploads come back as .xlsx: the read values, streamed in write-only mode."""
    grid = list(rows)
    layout = _layout_find(grid[:HEADER_SEARCH_ROWS], strict=False)
    column_of = {c.key: ci for c, ci in layout.positions}
    kinds = {ci: c.kind for c, ci in layout.positions}
    # The error column goes right of everything, so no uploaded value is overwritten.
    error_index = max([len(layout.headers), *(len(r) for r in grid)])

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(DATA_SHEET)
    ws.freeze_panes = f"A{layout.header_index + 2}"
    ws.column_dimensions[get_column_letter(error_index + 1)].width = 60
    header_font = Font(bold=True)
    total = max(len(grid), max(errors, default=0))
    for index in range(total):
        raw = grid[index] if index < len(grid) else []
        values: list[object] = [None] * error_index
        for ci, value in enumerate(raw):
            if type(value) is str:
                values[ci] = value or None
            elif value is not None:
                kind = kinds.get(ci)
                values[ci] = _cell_convert(
                    value, id_column=kind == "id_number", month_only=kind == "ym6"
                )
        if index == layout.header_index:
            header: list[object] = []
            for value in values:
                cell = write_only_cell(ws, value)
                cell.font = header_font
                header.append(cell)
            note = write_only_cell(ws, ERROR_HEADER)
            note.font = Font(bold=True, color=RED)
            ws.append(row_safe(ws, [*header, note]))
            continue
        problems = errors.get(index + 1)
        changes = normalised.get(index + 1)
        if not problems and not changes:
            ws.append(row_safe(ws, values))
            continue
        by_cell: dict[int, list[str]] = {}
        for key, message in problems or ():
            ci = column_of.get(key)  # type: ignore[assignment]
            if ci is not None:
                by_cell.setdefault(ci, []).append(message)
        for ci, messages in by_cell.items():
            cell = write_only_cell(ws, values[ci])
            cell.fill = _error_fill()
            cell.comment = _comment(messages)
            values[ci] = cell
        for key, after in changes or ():
            ci = column_of.get(key)  # type: ignore[assignment]
            if ci is None or ci in by_cell:
                continue
            cell = write_only_cell(ws, values[ci])
            cell.fill = _normalised_fill()
            cell.comment = _comment([MSG_NORMALISED.format(after=after)])
            values[ci] = cell
        note = "；".join(_message_line(k, m) for k, m in problems or ())  # type: ignore[assignment]
        ws.append(row_safe(ws, [*values, note or None]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def workbook_annotate(
    *,
    data: bytes,
    fmt: str,
    errors: dict[int, list[tuple[str, str]]],
    normalised: Normalisations | None = None,
) -> bytes:
    """The upload as .xlsx with each problem cell filled red and commented, plus a last
    column 错误说明 holding all of the row's messages; cells accepted after a
    normalisation are filled light blue with the stored value in their comment.

    `errors` maps an Excel row number to (Column.key, message) pairs; keys that are not a
    column of the sheet ("row", "member1", "member2") only reach the 错误说明 column.
    `normalised` maps an Excel row number to (Column.key, value as stored) pairs.
    """
    changes = normalised or {}
    if fmt == "xlsx":
        return _annotate_xlsx(data, errors, changes)
    if fmt == "xls":
        return _annotate_rebuilt(_calamine_rows(_calamine_sheet(data)), errors, changes)
    if fmt == "csv":
        return _annotate_rebuilt(_csv_grid(data), errors, changes)
    raise ValueError(f"unknown workbook format {fmt!r}")
