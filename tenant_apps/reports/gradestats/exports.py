"""Files of the grade statistics: each statistics table as Excel, and the mark sheets
(成绩表) of a class in a term and of a student over every term, as Excel and as a
print-friendly PDF (common.pdf, the embedded CJK font). Every file is recorded in the
audit log as an export, with what was asked and how many rows it holds."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from accounts.audit import READ_EXPORT, audit_record
from common import pdf
from common.spreadsheets import cell_put
from tenant_apps.grades import selectors as grades
from tenant_apps.grades.terms import Term
from tenant_apps.reports.gradestats.selectors import StatTable

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: object) -> object:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return float(value)
    return value


def _workbook(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "成绩"
    cell_put(ws, 1, 1, title).font = Font(bold=True, size=13)
    for col, header in enumerate(headers, start=1):
        cell_put(ws, 2, col, header).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(col)].width = max(8, len(header) * 2 + 2)
    for r, row in enumerate(rows, start=3):
        for col, value in enumerate(row, start=1):
            cell_put(ws, r, col, _cell(value))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _audit(request: Any, what: str, rows: int, filters: dict[str, Any]) -> None:
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type=what,
        after={"rows": rows, "filters": {k: v for k, v in filters.items() if v not in ("", None)}},
    )


def table_xlsx(table: StatTable, *, request: Any, filters: dict[str, Any]) -> bytes:
    data = _workbook(table.title, table.headers, table.values())
    _audit(request, f"grade_stats.{table.key}", len(table.rows), filters)
    return data


# -- mark sheets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    filename: str


def _mark_text(mark: Any) -> str:
    if mark is None:
        return "—"
    text = str(mark.get_level_display())
    return text if mark.score is None else f"{text} {mark.score}"


def class_sheet(*, klass: Any, term: Term) -> Sheet:
    """Students × the courses the class has in `term` (班级课程)."""
    table = grades.class_marks(class_id=klass.pk, term=term)
    headers = ("班内学号", "姓名", *[c.name for c in table["courses"]])
    rows = tuple(
        (
            str(r["student"].number_in_class or ""),
            r["student"].name,
            *[_mark_text(m) for m in r["marks"]],
        )
        for r in table["rows"]
    )
    return Sheet(
        f"{klass.name} {term.label} 成绩表",
        headers,
        rows,
        f"marks-class-{klass.class_no}-{term.school_year}-{term.term}",
    )


def student_sheet(*, student: Any) -> Sheet:
    """Every term's marks of one student, newest term first."""
    rows: list[tuple[str, ...]] = []
    for group in grades.student_marks(student_id=student.pk):
        for m in group["marks"]:
            rows.append(
                (
                    group["label"],
                    m.course.name,
                    str(m.get_level_display()),
                    "" if m.score is None else str(m.score),
                )
            )
    klass = student.school_class.name if student.school_class_id else ""
    return Sheet(
        f"{student.name} 成绩表{f'（{klass}）' if klass else ''}",
        ("学期", "课程", "等级", "分数"),
        tuple(rows),
        f"marks-student-{student.pk}",
    )


def sheet_file(sheet: Sheet, *, fmt: str, request: Any, filters: dict[str, Any]) -> bytes:
    if fmt == "pdf":
        data = pdf.render(
            pdf.Doc(
                title=sheet.title,
                header=sheet.headers,
                rows=sheet.rows or (("—",) * len(sheet.headers),),
            )
        )
    else:
        data = _workbook(sheet.title, sheet.headers, sheet.rows)
    _audit(request, "mark_sheet", len(sheet.rows), {**filters, "format": fmt})
    return data
