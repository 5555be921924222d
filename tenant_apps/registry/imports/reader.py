"""`workbook_read`: fast reading with python-calamine (xlsx, xls) or the csv module. The
reader and its header checks take a `ColumnSet`: the national student template by default,
the teacher list (registry.teachers.workbook) with the same checks."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import difflib
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import python_calamine

from tenant_apps.registry.fields import (
    BY_HEADER,
    Column,
)
from tenant_apps.registry.imports.columns import (
    DATA_SHEET,
    HEADER_SEARCH_ROWS,
    MAX_SHEET_ROWS,
    MSG_CSV_SYNTAX,
    MSG_DUPLICATE_COLUMNS,
    MSG_ENCRYPTED,
    MSG_MISSING_COLUMNS,
    MSG_MISSING_NEAR,
    MSG_NO_HEADER,
    MSG_SHEET_TOO_TALL,
    MSG_UNREADABLE,
    STUDENT_SET,
    CellValue,
    ColumnSet,
    UploadRejected,
)
from tenant_apps.registry.imports.sniff import _CFB_MAGIC, _cfb_encrypted, _csv_decode


@dataclass(frozen=True)
class _Layout:
    header_index: int  # 0-based row index of the header row
    headers: list[str]  # normalised header texts, one per sheet column
    positions: list[tuple[Column, int]]  # template columns found, with 0-based sheet column
    # Header cells that are no template column: {column (1-based), header, suggestion}.
    # Their cells are not imported, so the report lists them before anything else.
    unknown: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def _header_text(value: object) -> str:
    if value is None:
        return ""
    text = str(value).replace("\n", "").replace("\r", "").strip()
    # Some hand-made templates star required columns.
    return text.strip("*＊★ \u3000")


def header_suggest(
    header: str, *, taken: Iterable[str] = (), headers: Iterable[str] = BY_HEADER
) -> str:
    """The template header closest to a misspelt one ("" when none is close): 成员1身份证号
    → 成员1身份证件号. Headers already present elsewhere in the file are not offered."""
    taken = set(taken)
    candidates = [h for h in headers if h not in taken]
    match = difflib.get_close_matches(header, candidates, n=1, cutoff=0.6)
    return match[0] if match else ""


def _layout_find(
    head_rows: Sequence[Sequence[object]], *, strict: bool, columns: ColumnSet = STUDENT_SET
) -> _Layout:
    """Locate the header row among the first rows and map its cells to template columns."""
    by_header = columns.by_header
    found: tuple[int, list[str]] | None = None
    for index, row in enumerate(head_rows):
        texts = [_header_text(v) for v in row]
        if any(h in by_header for h in texts):
            found = (index, texts)
            break
    if found is None:
        if strict:
            raise UploadRejected(MSG_NO_HEADER)
        return _Layout(0, [], [])
    index, headers = found
    seen: dict[str, int] = {}
    duplicates: list[str] = []
    positions: list[tuple[Column, int]] = []
    strangers: list[tuple[int, str]] = []
    for ci, header in enumerate(headers):
        column = by_header.get(header)
        if column is None:
            if header:
                strangers.append((ci, header))
            continue
        if header in seen:
            duplicates.append(f"{header}（第{seen[header] + 1}列和第{ci + 1}列）")
            continue
        seen[header] = ci
        positions.append((column, ci))
    if strict and duplicates:
        raise UploadRejected(MSG_DUPLICATE_COLUMNS.format(columns="、".join(duplicates)))
    unknown = [
        {
            "column": ci + 1,
            "header": header,
            "suggestion": header_suggest(header, taken=seen, headers=by_header),
        }
        for ci, header in strangers
    ]
    missing = [c.header for c in columns.required if c.header not in seen]
    if strict and missing:
        named = []
        for header in missing:
            near = [u for u in unknown if u["suggestion"] == header]
            named.append(
                MSG_MISSING_NEAR.format(
                    header=header, column=near[0]["column"], given=near[0]["header"]
                )
                if near
                else header
            )
        raise UploadRejected(MSG_MISSING_COLUMNS.format(columns="、".join(named)))
    positions.sort(key=lambda p: p[1])
    return _Layout(index, headers, positions, unknown)


def _cell_convert(value: object, *, id_column: bool, month_only: bool) -> CellValue:
    """A non-string calamine value as the text a user would have typed."""
    if value is None:
        return None
    if type(value) is float:
        if value.is_integer():
            # A float of 16+ digits has lost digits (Excel keeps 15): hand the raw float on so
            # validation can say "set the column to text and type the number again".
            if id_column and abs(value) >= 1e15:
                return value
            return str(int(value))
        return repr(value)
    if type(value) is bool:
        return "是" if value else "否"
    if isinstance(value, datetime.date):
        if month_only:
            return f"{value.year:04d}{value.month:02d}"
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    text = str(value)
    return text if text.strip() else None


def _rows_convert(
    rows: Iterator[list[object]], layout: _Layout, first_row_number: int
) -> Iterator[tuple[int, dict[str, CellValue]]]:
    # Per-column facts are computed once; the per-cell loop is a type test and a dict store.
    plan = [(c.key, ci, c.kind == "id_number", c.kind == "ym6") for c, ci in layout.positions]
    width = max((ci for _, ci, _, _ in plan), default=-1) + 1
    for number, row in enumerate(rows, start=first_row_number):
        if len(row) < width:
            row = row + [""] * (width - len(row))
        record: dict[str, CellValue] = {}
        filled = False
        for key, ci, id_column, month_only in plan:
            value = row[ci]
            if type(value) is str:
                if not value or value.isspace():
                    record[key] = None
                    continue
                record[key] = value
                filled = True
                continue
            converted = _cell_convert(value, id_column=id_column, month_only=month_only)
            record[key] = converted
            if converted is not None:
                filled = True
        if filled:
            yield number, record


def _sheet_pick(book: python_calamine.CalamineWorkbook, data_sheet: str = DATA_SHEET) -> str:
    """The template's data sheet if present, else the first visible worksheet."""
    names = book.sheet_names
    if data_sheet in names:
        return data_sheet
    for meta in book.sheets_metadata:
        if (
            meta.typ == python_calamine.SheetTypeEnum.WorkSheet
            and meta.visible == python_calamine.SheetVisibleEnum.Visible
        ):
            return str(meta.name)
    if not names:
        raise UploadRejected(MSG_UNREADABLE)
    return str(names[0])


def _calamine_sheet(data: bytes, columns: ColumnSet = STUDENT_SET) -> python_calamine.CalamineSheet:
    """The data sheet, parsed; UploadRejected when it cannot be read or is out of bounds."""
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        name = _sheet_pick(book, columns.data_sheet)
        sheet = book.get_sheet_by_name(name)
    except python_calamine.PasswordError:
        raise UploadRejected(MSG_ENCRYPTED) from None
    except (python_calamine.CalamineError, ValueError, OSError):
        # from_filelike tries every format in turn and reports only "Cannot detect file
        # format", so an encrypted .xls does not surface as PasswordError.
        if data.startswith(_CFB_MAGIC) and _cfb_encrypted(data):
            raise UploadRejected(MSG_ENCRYPTED) from None
        raise UploadRejected(MSG_UNREADABLE) from None
    end = sheet.end
    if end is None:
        raise UploadRejected(columns.sheet_empty.format(sheet=name))
    if end[0] + 1 > MAX_SHEET_ROWS:
        raise UploadRejected(MSG_SHEET_TOO_TALL.format(rows=MAX_SHEET_ROWS))
    return sheet


def _calamine_rows(sheet: python_calamine.CalamineSheet) -> Iterator[list[object]]:
    """Rows from Excel row 1, each a list from column A."""
    # to_python(skip_empty_area=False) anchors the grid at A1, so list positions are Excel
    # positions; iter_rows() would start at the first used column instead.
    return iter(sheet.to_python(skip_empty_area=False))  # type: ignore[arg-type]


def _csv_grid(data: bytes) -> Iterator[list[object]]:
    text = _csv_decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[list[object]]:
        try:
            yield from reader
        except csv.Error as exc:
            raise UploadRejected(MSG_CSV_SYNTAX.format(line=reader.line_num, detail=exc)) from None

    return rows()


def _grid(data: bytes, fmt: str, columns: ColumnSet = STUDENT_SET) -> Iterator[list[object]]:
    if fmt == "csv":
        return _csv_grid(data)
    if fmt in ("xlsx", "xls"):
        return _calamine_rows(_calamine_sheet(data, columns))
    raise ValueError(f"unknown workbook format {fmt!r}")


@dataclass
class Sheet:
    """A read sheet: its header and the raw rows under it, converted on demand and in
    slices, so that the import can hand each process its share (common.forking)."""

    headers: list[str]
    grid: list[list[object]]  # the rows under the header row, as the reader gave them
    layout: _Layout
    first_number: int  # Excel row number of grid[0]

    def records(
        self, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[int, dict[str, CellValue]]]:
        """(Excel row number, {Column.key: value}) of the filled rows in grid[start:stop]."""
        return _rows_convert(iter(self.grid[start:stop]), self.layout, self.first_number + start)


def workbook_sheet(*, data: bytes, fmt: str, columns: ColumnSet = STUDENT_SET) -> Sheet:
    """The whole sheet read (the header checked: UploadRejected), rows not yet converted."""
    rows = _grid(data, fmt, columns)
    head: list[list[object]] = []
    for row in rows:
        head.append(row)
        if len(head) == HEADER_SEARCH_ROWS:
            break
    layout = _layout_find(head, strict=True, columns=columns)
    grid = head[layout.header_index + 1 :]
    grid.extend(rows)
    return Sheet(layout.headers, grid, layout, layout.header_index + 2)


def workbook_read(
    *, data: bytes, fmt: str
) -> tuple[list[str], Iterator[tuple[int, dict[str, CellValue]]]]:
    """The header row and the filled rows as (Excel row number, {Column.key: value}).

    Header problems raise UploadRejected here, before any row is produced. Values are
    text as typed (None when empty); dates become YYYYMMDD (YYYYMM in year-month
    columns), whole numbers lose their ".0", and an ID number that Excel stored as a 16+
    digit float comes back as that float so validation can reject it.
    """
    sheet = workbook_sheet(data=data, fmt=fmt)
    return sheet.headers, sheet.records()


def workbook_grid(*, data: bytes, fmt: str) -> Iterator[list[object]]:
    """Every row of the first worksheet (or the CSV) from row 1, cells as the reader
    gives them, with no header looked for: for rosters whose layout is not the
    template's (tenant_apps.rosters finds and maps their header itself). The same
    bounds as the import: UploadRejected when unreadable, encrypted or too tall."""
    return _grid(data, fmt)


def cell_text(value: object, *, id_column: bool = False, month_only: bool = False) -> CellValue:
    """A cell as the import reads it: text as typed, dates as YYYYMMDD, whole numbers
    without ".0", and a 16+ digit number in an ID column left a float so that
    validation says its digits were lost."""
    if type(value) is str:
        return value if value.strip() else None
    return _cell_convert(value, id_column=id_column, month_only=month_only)
