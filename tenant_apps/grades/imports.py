"""Marks import from Excel (成绩导入): a template per class and term (students × courses),
upload → dry run → confirm, like the student import (registry.imports).

* The upload passes the student import's `upload_sniff` first (size, extension, magic
  bytes, password, ZIP bomb), then python-calamine reads the first sheet.
* The dry run checks every cell and reports each problem with its row and column in
  Chinese: a student not in the class (unknown 班内学号/姓名), a column whose course the
  class does not have this term (班级课程) or that the user may not write (成绩录入权限,
  one writer per cell, §3.14.4), a level or score out of range, a cell with neither level
  nor score, a student twice. Only the current term is open, as for the entry grid.
* What the dry run found valid leaves as a signed token (django.core.signing: JSON under
  the SECRET_KEY, bound to the user and the school, valid for an hour); the confirmation
  checks it and writes every course of the file in ONE transaction through
  grades.services.marks_save_many, which applies the entry grid's rules again. A file
  with any error gives no token: nothing is written.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import python_calamine
from django.core import signing
from django.db import connection
from django.http import Http404
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from common.exceptions import ApplicationError
from common.spreadsheets import cell_put
from tenant_apps.grades import services
from tenant_apps.grades.models import ClassCourse, Mark
from tenant_apps.grades.selectors import cell_writable, class_course_list, class_students_qs
from tenant_apps.grades.terms import Term, current_term
from tenant_apps.registry.imports.columns import MSG_ENCRYPTED, MSG_UNREADABLE, UploadRejected
from tenant_apps.registry.imports.sniff import upload_sniff
from tenant_apps.registry.models import SchoolClass

TOKEN_SALT = "tenant_apps.grades.imports"  # noqa: S105 - a signing salt, not a secret
TOKEN_MAX_AGE = 3600
HEADER_ROW = 2  # row 1 is the title naming the class and term
LEVEL_SUFFIX, SCORE_SUFFIX = "等级", "分数"
NUMBER_HEADER, NAME_HEADER = "班内学号", "姓名"
LEVELS = {label: value for value, label in Mark.Level.choices}

MSG_NO_HEADER = "第{row}行应为表头（班内学号、姓名、各课程的等级和分数），请使用下载的模板。"
MSG_UNKNOWN_HEADER = "第{row}行{col}列“{header}”：不是模板的列（应为“课程名等级”或“课程名分数”）。"
MSG_NOT_IN_TERM = "第{row}行{col}列“{header}”：{klass}在{term}没有开设“{course}”。"
MSG_NOT_WRITER = "第{row}行{col}列“{header}”：您没有{klass}“{course}”的成绩录入权限。"
MSG_UNKNOWN_STUDENT = (
    "第{row}行{col}列“{header}”：本班没有班内学号为“{number}”、姓名为“{name}”的在读学生。"
)
MSG_DUP_STUDENT = "第{row}行{col}列“{header}”：学生“{name}”在第{first}行已出现。"
MSG_LEVEL = "第{row}行{col}列“{header}”：等级“{value}”无效，应为优秀、良好、合格或不合格。"
MSG_SCORE = (
    "第{row}行{col}列“{header}”：分数“{value}”无效，应为 0 到 100 之间、最多一位小数的数字。"
)
MSG_BOTH_MISSING = "第{row}行{col}列“{header}”：{name}的“{course}”等级和分数都没有填写。"
MSG_LEVEL_MISSING = "第{row}行{col}列“{header}”：填写了分数，请同时填写等级。"
MSG_NO_ROWS = "文件里没有学生成绩行。"
MSG_CHANGED = "自检查以来，录入权限、班级学生或学期已有变化，未导入任何成绩，请重新上传文件。"
MSG_TOKEN = "导入确认已过期或无效，请重新上传文件。"  # noqa: S105 - a message
MSG_XLSX_ONLY = "成绩导入请使用下载的 Excel 模板（.xlsx 或 .xls）。"


def _col(index: int) -> str:
    return f"{get_column_letter(index + 1)}"


# -- the template ---------------------------------------------------------------------------


def import_cells(*, user: Any, term: Term | None = None) -> list[ClassCourse]:
    """The cells of the current term `user` may import into (the entry grid's rule)."""
    term = term or current_term()
    return [c for c in class_course_list(term=term) if cell_writable(user, c)]


def template_build(*, user: Any, class_id: int) -> bytes:
    """The class's template for the current term: one row per student in school, two
    columns (等级, 分数) per course of the class that `user` may write, filled with the
    marks already entered."""
    term = current_term()
    klass = SchoolClass.objects.filter(pk=class_id).first()
    cells = [c for c in import_cells(user=user, term=term) if c.school_class_id == class_id]
    if klass is None or not cells:
        raise ApplicationError("没有您可以导入成绩的该班级课程。", code="not_found")
    students = list(class_students_qs([class_id]))
    marks = {
        (m.student_id, m.course_id): m
        for m in Mark.objects.filter(
            student__in=students,
            course_id__in=[c.course_id for c in cells],
            school_year=term.school_year,
            term=term.term,
        )
    }
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "成绩"
    cell_put(ws, 1, 1, f"{klass.name} {term.label} 成绩导入").font = Font(bold=True, size=13)
    headers = [NUMBER_HEADER, NAME_HEADER]
    for c in cells:
        headers += [f"{c.course.name}{LEVEL_SUFFIX}", f"{c.course.name}{SCORE_SUFFIX}"]
    fill = PatternFill("solid", fgColor="DDEBF7")
    for i, header in enumerate(headers, start=1):
        cell = cell_put(ws, HEADER_ROW, i, header)
        cell.font, cell.fill = Font(bold=True), fill
        ws.column_dimensions[get_column_letter(i)].width = max(10, len(header) * 2 + 2)
    for r, s in enumerate(students, start=HEADER_ROW + 1):
        cell_put(ws, r, 1, s.number_in_class)
        cell_put(ws, r, 2, s.name)
        for j, c in enumerate(cells):
            m = marks.get((s.pk, c.course_id))
            if m is not None:
                cell_put(ws, r, 3 + 2 * j, m.get_level_display())
                cell_put(ws, r, 4 + 2 * j, None if m.score is None else float(m.score))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- the dry run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportError_:
    row: int  # Excel row, 1-based
    column: str  # Excel column letter
    header: str
    message: str


@dataclass
class DryRun:
    class_name: str
    term_label: str
    courses: list[str] = field(default_factory=list)
    students: int = 0
    marks: int = 0
    errors: list[ImportError_] = field(default_factory=list)
    skipped_blank: int = 0
    token: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.token)


def _grid(data: bytes, filename: str) -> list[list[object]]:
    fmt = upload_sniff(name=filename, data=data)
    if fmt not in ("xlsx", "xls"):
        raise UploadRejected(MSG_XLSX_ONLY)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
    except python_calamine.PasswordError:
        raise UploadRejected(MSG_ENCRYPTED) from None
    except (python_calamine.CalamineError, ValueError, OSError):
        raise UploadRejected(MSG_UNREADABLE) from None
    return [list(r) for r in sheet.to_python(skip_empty_area=False)]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def dry_run(*, user: Any, class_id: int, filename: str, data: bytes) -> DryRun:
    """Check the file for `class_id` in the current term; write nothing. UploadRejected
    when the file cannot be read at all."""
    term = current_term()
    klass = SchoolClass.objects.filter(pk=class_id).first()
    if klass is None:
        raise ApplicationError("未找到该班级。", code="not_found")
    report = DryRun(class_name=klass.name, term_label=term.label)
    grid = _grid(data, filename)
    err = report.errors
    if len(grid) < HEADER_ROW or [_text(v) for v in grid[HEADER_ROW - 1][:2]] != [
        NUMBER_HEADER,
        NAME_HEADER,
    ]:
        err.append(ImportError_(HEADER_ROW, "A", "", MSG_NO_HEADER.format(row=HEADER_ROW)))
        return report
    terms = {c.course.name: c for c in class_course_list(term=term, class_ids=[class_id])}
    # column index -> (cell, "level" | "score")
    columns: dict[int, tuple[ClassCourse, str]] = {}
    for i, raw in enumerate(grid[HEADER_ROW - 1][2:], start=2):
        header = _text(raw)
        if not header:
            continue
        where = {"row": HEADER_ROW, "col": _col(i), "header": header}
        kind = (
            "level"
            if header.endswith(LEVEL_SUFFIX)
            else "score"
            if header.endswith(SCORE_SUFFIX)
            else ""
        )
        if not kind:
            err.append(
                ImportError_(HEADER_ROW, _col(i), header, MSG_UNKNOWN_HEADER.format(**where))
            )
            continue
        name = header[: -len(LEVEL_SUFFIX)]
        cell = terms.get(name)
        if cell is None:
            err.append(
                ImportError_(
                    HEADER_ROW,
                    _col(i),
                    header,
                    MSG_NOT_IN_TERM.format(klass=klass.name, term=term.label, course=name, **where),
                )
            )
            continue
        if not cell_writable(user, cell):
            err.append(
                ImportError_(
                    HEADER_ROW,
                    _col(i),
                    header,
                    MSG_NOT_WRITER.format(klass=klass.name, course=name, **where),
                )
            )
            continue
        columns[i] = (cell, kind)
    by_cell: dict[int, dict[str, int]] = {}
    for i, (cell, kind) in columns.items():
        by_cell.setdefault(cell.pk, {})[kind] = i
    cells = {c.pk: c for c, _ in columns.values()}
    report.courses = [cells[pk].course.name for pk in by_cell]
    students = {(str(s.number_in_class or ""), s.name): s for s in class_students_qs([class_id])}
    seen: dict[int, int] = {}
    grids: dict[int, list[dict[str, str]]] = {pk: [] for pk in by_cell}
    for r, values in enumerate(grid[HEADER_ROW:], start=HEADER_ROW + 1):
        cells_text = [_text(v) for v in values]
        if not any(cells_text):
            report.skipped_blank += 1
            continue

        def get(i: int, texts: list[str] = cells_text) -> str:
            return texts[i] if i < len(texts) else ""

        number, name = get(0), get(1)
        student = students.get((number, name))
        if student is None:
            err.append(
                ImportError_(
                    r,
                    "B",
                    NAME_HEADER,
                    MSG_UNKNOWN_STUDENT.format(
                        row=r, col="B", header=NAME_HEADER, number=number, name=name
                    ),
                )
            )
            continue
        if student.pk in seen:
            err.append(
                ImportError_(
                    r,
                    "B",
                    NAME_HEADER,
                    MSG_DUP_STUDENT.format(
                        row=r, col="B", header=NAME_HEADER, name=name, first=seen[student.pk]
                    ),
                )
            )
            continue
        seen[student.pk] = r
        report.students += 1
        for pk, kinds in by_cell.items():
            course = cells[pk].course.name
            li, si = kinds.get("level"), kinds.get("score")
            level = get(li) if li is not None else ""
            score = get(si) if si is not None else ""
            lh = f"{course}{LEVEL_SUFFIX}"
            sh = f"{course}{SCORE_SUFFIX}"
            if not level and not score:
                at = li if li is not None else si
                assert at is not None
                err.append(
                    ImportError_(
                        r,
                        _col(at),
                        lh if li is not None else sh,
                        MSG_BOTH_MISSING.format(
                            row=r,
                            col=_col(at),
                            header=lh if li is not None else sh,
                            name=name,
                            course=course,
                        ),
                    )
                )
                continue
            bad = False
            if level and services._level(level) is False:
                assert li is not None
                err.append(
                    ImportError_(
                        r,
                        _col(li),
                        lh,
                        MSG_LEVEL.format(row=r, col=_col(li), header=lh, value=level),
                    )
                )
                bad = True
            if score and services._score(score) is False:
                assert si is not None
                err.append(
                    ImportError_(
                        r,
                        _col(si),
                        sh,
                        MSG_SCORE.format(row=r, col=_col(si), header=sh, value=score),
                    )
                )
                bad = True
            if not level and score and not bad:
                at = si if si is not None else 0
                err.append(
                    ImportError_(
                        r, _col(at), sh, MSG_LEVEL_MISSING.format(row=r, col=_col(at), header=sh)
                    )
                )
                bad = True
            if not bad:
                grids[pk].append(
                    {"student": str(student.identifier), "level": level, "score": score}
                )
                report.marks += 1
    if not report.students and not err:
        err.append(ImportError_(HEADER_ROW + 1, "A", "", MSG_NO_ROWS))
    if not err:
        report.token = signing.dumps(
            {
                "user": user.pk,
                "schema": connection.schema_name,
                "class": class_id,
                "term": [term.school_year, term.term],
                "grids": [[pk, rows] for pk, rows in grids.items()],
            },
            salt=TOKEN_SALT,
            compress=True,
        )
    return report


# -- the confirmation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    class_name: str
    saved: int
    unchanged: int


def confirm(*, user: Any, token: str, request: Any = None) -> Confirmed:
    """Write what a dry run checked, all courses in one transaction; ApplicationError
    (nothing written) when the token is stale, forged, another user's or another
    school's, or a rule of marks_save refuses any grid."""
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise ApplicationError(MSG_TOKEN, code="state") from None
    term = current_term()
    if (
        payload.get("user") != user.pk
        or payload.get("schema") != connection.schema_name
        or payload.get("term") != [term.school_year, term.term]
    ):
        raise ApplicationError(MSG_TOKEN, code="state")
    klass = SchoolClass.objects.filter(pk=payload["class"]).first()
    try:
        results = services.marks_save_many(
            user=user,
            grids=[(int(pk), rows) for pk, rows in payload["grids"]],
            request=request,
        )
    except Http404:
        # The cell changed hands, the student left the class, or the term moved on
        # since the dry run: the same refusal as the entry grid's, nothing written.
        raise ApplicationError(MSG_CHANGED, code="state") from None
    return Confirmed(
        class_name=klass.name if klass else "",
        saved=sum(r.saved for r in results),
        unchanged=sum(r.unchanged for r in results),
    )
