"""The admissions diff (录取名单与学籍比对) as an Excel workbook: the same masked rows as the
page, one sheet per kind, every cell written through common.spreadsheets. The school's
export and the county's (with its summary per school first) are this one writer."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Font

from common.spreadsheets import row_safe, write_only_cell
from tenant_apps.rosters.admissions import DiffShown, PersonShown

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERSON_HEADERS = ("姓名", "性别", "出生日期", "身份证件号", "班级/位置")
KIND_TITLES = {
    "only_registry": "仅在学籍",
    "only_listed": "仅在录取名单",
    "mismatched": "关键字段不一致",
}


def _person(p: PersonShown) -> list[object]:
    return [p.name, p.sex, p.birth_date, p.id_number, p.place]


def diff_workbook(
    *,
    diffs: Sequence[tuple[str, DiffShown]],
    summary: Sequence[Sequence[object]] = (),
    summary_headers: Sequence[str] = (),
) -> bytes:
    """`diffs`: (school name, its diff) — one school's export has one. `summary`: the
    county's table, a first sheet of its own."""
    wb = Workbook(write_only=True)

    def header(ws: WriteOnlyWorksheet, texts: Sequence[str]) -> None:
        cells: list[object] = []
        for text in texts:
            cell = write_only_cell(ws, text)
            cell.font = Font(bold=True)
            cells.append(cell)
        ws.append(row_safe(ws, cells))

    if summary_headers:
        ws = wb.create_sheet("各校汇总")
        header(ws, summary_headers)
        for line in summary:
            ws.append(row_safe(ws, list(line)))
    many = len(diffs) > 1 or bool(summary_headers)
    lead = ["学校"] if many else []
    for kind, title in KIND_TITLES.items():
        ws = wb.create_sheet(title)
        if kind == "mismatched":
            header(ws, [*lead, "录取名单行", "姓名", "不一致的字段", "录取名单", "学籍"])
        else:
            header(ws, [*lead, "位置" if kind == "only_listed" else "学籍序号", *PERSON_HEADERS])
        for school, diff in diffs:
            first = [school] if many else []
            if kind == "mismatched":
                for pair in diff.mismatched:
                    for m in pair.fields:
                        ws.append(
                            row_safe(
                                ws,
                                [
                                    *first,
                                    pair.listed.ref,
                                    pair.registry.name,
                                    m.label,
                                    m.listed,
                                    m.registry,
                                ],
                            )
                        )
            else:
                people = diff.only_listed if kind == "only_listed" else diff.only_registry
                for n, p in enumerate(people, 1):
                    ref = p.ref if kind == "only_listed" else n
                    ws.append(row_safe(ws, [*first, ref, *_person(p)]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
