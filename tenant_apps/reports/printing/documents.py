"""The print centre's documents as PDF (reportlab platypus, A4, the embedded CJK font of
common.pdf) and as Excel (openpyxl through common.spreadsheets).

Every PDF page carries the school's name and the print date in its header and its page
number in the footer; each class's part starts on a new page. Table cells are plain
strings unless a value is long enough to need wrapping: a Paragraph per cell costs about
ten times a string, and 5,000 学籍卡片 have to be made in minutes (bench/reports_print.py).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from openpyxl import Workbook
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from common.pdf import FONT, FONT_BOLD, font
from common.spreadsheets import row_safe
from tenant_apps.registry.codes import code_tables
from tenant_apps.registry.fields import BY_KEY, MEMBER_COLUMNS, STUDENT_COLUMNS, Column
from tenant_apps.registry.models import Student
from tenant_apps.registry.students.reveal import shown
from tenant_apps.reports.printing.selectors import DOCUMENTS, Group, graduation_year

# Page streams stay binary (compressed) rather than ASCII85-armoured: valid PDF, a fifth
# smaller, and the armour is pure Python here (a tenth of a 学籍卡片's drawing time).
rl_config.useA85 = 0
PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
BODY_W = PAGE_W - 2 * MARGIN
SMALL = 8.5
GRID = colors.Color(0.55, 0.55, 0.55)
SHADE = colors.Color(0.94, 0.94, 0.94)
BOX = "□"

# The fields a parent can verify on the 学生信息核对表, in the national template's order:
# what the family itself knows (identity, household, addresses, contacts, family
# circumstances); the school's own entries (class, entry mode, aid decisions) are not asked.
CHECK_KEYS: tuple[str, ...] = (
    "name",
    "sex",
    "birth_date",
    "birthplace",
    "native_place",
    "ethnicity",
    "nationality",
    "id_type",
    "id_number",
    "overseas",
    "health",
    "former_name",
    "household_region",
    "household_type",
    "current_address",
    "postal_address",
    "home_address",
    "phone",
    "postcode",
    "only_child",
    "left_behind",
    "migrant_child",
)
CHECK_MEMBER_KEYS: tuple[str, ...] = ("name", "relation", "phone", "id_number", "is_guardian")
# Taller rows on the parent's sheet: room to tick and to write a correction by hand.
ROOMY = (("TOPPADDING", (0, 1), (-1, -1), 3.5), ("BOTTOMPADDING", (0, 1), (-1, -1), 3.5))
# A 学籍卡片 holds some 70 fields on one page: a smaller face and tighter rows.
CARD = 7.5
CARD_STYLE = (
    ("FONT", (0, 0), (-1, -1), FONT, CARD),
    ("LEADING", (0, 0), (-1, -1), 9),
    ("TOPPADDING", (0, 0), (-1, -1), 1.2),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.8),
)
ROSTER_HEADER = ("学号", "姓名", "性别", "出生日期", "身份证件号", "全国学籍号", "入学年月")


@dataclass(frozen=True)
class Printed:
    """A made document: its bytes, the file's name and MIME type."""

    data: bytes
    filename: str
    content_type: str


PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"


# -- values ----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _labels(table: str) -> dict[str, str]:
    found = code_tables().get(table)
    return {} if found is None else found.labels


def value_text(column: Column, value: Any, *, full: bool) -> str:
    """A stored value as printed: codes as their labels (codes.json), 是/否, dates as
    YYYY-MM-DD, identifiers masked unless `full` (registry.students.reveal.shown)."""
    if value is None or value == "":
        return ""
    if column.kind == "yesno":
        return "是" if value else "否"
    if column.kind == "date8" and isinstance(value, dt.date):
        return value.isoformat()
    if column.code_table:
        labels = _labels(column.code_table)
        return labels.get(str(value), str(value))
    return str(shown(column.key, value, reveal=full))


def student_value(student: Student, key: str, *, full: bool) -> str:
    if key == "grade":
        return student.school_class.grade_name
    if key == "class_no":
        return student.school_class.name
    return value_text(BY_KEY[key], getattr(student, key, ""), full=full)


def member_value(member: Any, key: str, *, slot: int, full: bool) -> str:
    column = BY_KEY[f"m{slot}_{key}"]
    return value_text(column, getattr(member, key, ""), full=full)


def national_number(student: Student, *, full: bool) -> str:
    return str(shown("national_number", student.national_number, reveal=full) or "")


def members(student: Student) -> list[Any]:
    """The family members (成员1, 成员2) in slot order, from the prefetched set."""
    return sorted(student.family.all(), key=lambda m: m.slot)


# -- PDF -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    cell: ParagraphStyle
    plain: ParagraphStyle


def _styles() -> Styles:
    name = font()
    return Styles(
        title=ParagraphStyle("t", fontName=FONT_BOLD, fontSize=16, leading=22, alignment=TA_CENTER),
        heading=ParagraphStyle("h", fontName=FONT_BOLD, fontSize=11, leading=16),
        cell=ParagraphStyle("c", fontName=name, fontSize=SMALL, leading=11, wordWrap="CJK"),
        plain=ParagraphStyle("p", fontName=name, fontSize=10, leading=16),
    )


def wrap(text: str, width: float, size: float = SMALL) -> str:
    """`text` broken into lines that fit `width` points (a plain string cell with
    newlines: a table draws it as several lines, at a fraction of a Paragraph's cost).
    Chinese text may break between any two characters."""
    room = width - 5
    if len(text) * size <= room:  # no glyph of the face is wider than 1 em
        return text
    widths = _advances()
    lines: list[str] = []
    line, used = "", 0.0
    for char in text:
        w = widths.get(ord(char), 1000) * size / 1000
        if used + w > room and line:
            lines.append(line)
            line, used = "", 0.0
        line += char
        used += w
    lines.append(line)
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _advances() -> dict[int, float]:
    """The face's advance widths (1/1000 em) by code point, read once."""
    from reportlab.pdfbase import pdfmetrics

    font()
    return dict(pdfmetrics.getFont(FONT).face.charWidths)  # type: ignore[attr-defined]


def _fit(text: str, width: float, st: Styles) -> str:
    return wrap(text, width)


def _table(
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    header: bool = True,
    extra: Iterable[tuple[Any, ...]] = (),
) -> Table:
    table = Table([list(r) for r in rows], colWidths=list(widths), repeatRows=1 if header else 0)
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), font(), SMALL),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), SHADE), ("FONT", (0, 0), (-1, 0), FONT_BOLD)]
    style += list(extra)
    table.setStyle(TableStyle(style))
    return table


class PhotoSlot(Flowable):
    """The photo's place on a 学籍卡片: the student's current photo (a reportlab
    ImageReader) drawn in the frame, or a framed box reading 照片 without one."""

    def __init__(self, width: float, height: float, image: Any = None) -> None:
        super().__init__()
        self.width, self.height, self.image = width, height, image

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.setStrokeColor(GRID)
        c.rect(0, 0, self.width, self.height)
        if self.image is not None:
            c.drawImage(self.image, 1, 1, self.width - 2, self.height - 2, preserveAspectRatio=True)
            return
        c.setFont(font(), 10)
        c.drawCentredString(self.width / 2, self.height / 2 - 4, "照片")


def photo_slot(student: Student) -> Flowable:
    """The flowable in a card's photo place (one inch by 1.4, the usual 一寸照): the
    national file attached by `photos_attach` (read before any fork: the drawing
    process touches neither the database nor storage)."""
    from reportlab.lib.utils import ImageReader

    data = getattr(student, "photo_jpeg", None)
    image = ImageReader(io.BytesIO(data)) if data else None
    return PhotoSlot(27 * mm, 36 * mm, image)


PHOTO_READERS = 8  # parallel storage reads: each photo is one small GET


def photos_attach(groups: Sequence[Group]) -> int:
    """Give every student of `groups` its current photo's bytes (`photo_jpeg`, None
    without one) for the 学籍卡片; the number found. One query, then the objects read
    from the school's storage a few at a time."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.core.files.storage import default_storage
    from django.db import connection

    from tenant_apps.registry.models import StudentPhoto
    from tenants.context import school_context

    main = threading.current_thread()

    students = [s for g in groups for s in g.students]
    keys = dict(
        StudentPhoto.objects.filter(
            student_id__in=[s.pk for s in students], status=StudentPhoto.Status.CURRENT
        ).values_list("student_id", "file_key")
    )

    schema = str(connection.schema_name)

    def read(key: str) -> bytes | None:
        # The storage prefix follows the thread's own connection's schema: set it.
        try:
            with school_context(schema), default_storage.open(key, "rb") as f:
                return bytes(f.read())
        except FileNotFoundError:
            return None  # a card without its photo rather than no card at all
        finally:
            if threading.current_thread() is not main:
                connection.close()  # the thread's own (unused) database connection

    with ThreadPoolExecutor(max_workers=PHOTO_READERS) as pool:
        data = dict(zip(keys, pool.map(read, keys.values()), strict=True))
    for s in students:
        s.photo_jpeg = data.get(s.pk)  # type: ignore[attr-defined]
    return sum(1 for v in data.values() if v)


def _title(st: Styles, text: str) -> list[Flowable]:
    return [Paragraph(escape(text), st.title), Spacer(1, 3 * mm)]


def _roster_rows(group: Group, st: Styles, *, document: str) -> list[list[Any]]:
    header: list[Any] = list(ROSTER_HEADER)
    if document == "intake":
        header.append("注册状态")
    if document == "graduates":
        header.append("毕业年份")
    rows: list[list[Any]] = [header]
    for s in group.students:
        row: list[Any] = [
            str(s.number_in_class or ""),
            s.name,
            s.get_sex_display(),
            s.birth_date.isoformat() if s.birth_date else "",
            str(shown("id_number", s.id_number, reveal=False) or ""),
            national_number(s, full=False),
            s.entry_year_month,
        ]
        if document == "intake":
            row.append(s.get_audit_state_display())
        if document == "graduates":
            row.append(str(graduation_year(group.school_class)))
        rows.append(row)
    return rows


def _roster(group: Group, st: Styles, *, document: str) -> list[Flowable]:
    rows = _roster_rows(group, st, document=document)
    widths = [12 * mm, 24 * mm, 11 * mm, 22 * mm, 40 * mm, 42 * mm, 19 * mm]
    if len(rows[0]) > len(widths):
        widths = [w * 0.9 for w in widths]
        widths.append(BODY_W - sum(widths))
    title = f"{DOCUMENTS[document]}　{group.school_class.name}"
    summary = Paragraph(escape(f"共 {len(group.students)} 人"), st.plain)
    return [*_title(st, title), _table(rows, widths), Spacer(1, 2 * mm), summary]


def _pairs(cells: list[tuple[str, str]], *, per_row: int = 2, label_w: float = 30 * mm) -> Table:
    """Label/value pairs laid out `per_row` pairs a row, both wrapped to their cells."""
    value_w = (BODY_W - per_row * label_w) / per_row
    rows: list[list[Any]] = []
    for i in range(0, len(cells), per_row):
        row: list[Any] = []
        for label, value in cells[i : i + per_row]:
            row += [wrap(label, label_w, CARD), wrap(value, value_w, CARD)]
        row += [""] * (2 * per_row - len(row))
        rows.append(row)
    shade = [("BACKGROUND", (2 * k, 0), (2 * k, -1), SHADE) for k in range(per_row)]
    return _table(rows, [label_w, value_w] * per_row, header=False, extra=[*CARD_STYLE, *shade])


def _card(student: Student, st: Styles, *, full: bool) -> list[Flowable]:
    """学籍卡片: every field of the national template, family members, registry number
    and the photo slot."""
    head = [
        ("姓名", student.name),
        ("性别", student.get_sex_display()),
        ("出生日期", student_value(student, "birth_date", full=full)),
        ("全国学籍号", national_number(student, full=full)),
        ("身份证件号", student_value(student, "id_number", full=full)),
        ("班级", student.school_class.name),
        ("学籍状态", student.get_status_display()),
        ("注册状态", student.get_audit_state_display()),
    ]
    label_w, photo_w = 24 * mm, 31 * mm
    value_w = BODY_W - label_w - photo_w
    top_rows: list[list[Any]] = [[label, value, ""] for label, value in head]
    top_rows[0][2] = photo_slot(student)
    top = _table(
        top_rows,
        [label_w, value_w, photo_w],
        header=False,
        extra=[
            *CARD_STYLE,
            ("SPAN", (2, 0), (2, -1)),
            ("ALIGN", (2, 0), (2, -1), "CENTER"),
            ("BACKGROUND", (0, 0), (0, -1), SHADE),
        ],
    )
    done = {"name", "sex", "birth_date", "id_number", "class_no"}
    rest = [
        (c.header, student_value(student, c.key, full=full))
        for c in STUDENT_COLUMNS
        if c.key not in done
    ]
    story: list[Flowable] = [*_title(st, "学籍卡片"), top, Spacer(1, 2 * mm)]
    story += [_pairs(rest), Spacer(1, 2 * mm), Paragraph("家庭成员", st.heading)]
    for member in members(student) or []:
        slot = member.slot
        cells = [
            (
                c.header,
                member_value(member, c.key[3:], slot=slot, full=full),
            )
            for c in MEMBER_COLUMNS.get(f"member{slot}", ())
        ]
        story += [Spacer(1, 1 * mm), _pairs(cells)]
    return story


def _family_qr(url: str, st: Styles) -> Table:
    """The family photo upload link (registry.photos.family) as a QR code with a line
    on how to use it."""
    from tenant_apps.registry.photos.family import LINK_DAYS
    from tenant_apps.reports.certificates.documents import qr_drawing

    text = (
        "学生照片：家长可用手机扫描右侧二维码，按提示为孩子拍照上传（无需注册，"
        f"只能提交一次，{LINK_DAYS}天内有效），照片经学校审核后生效。"
    )
    table = Table(
        [[Paragraph(escape(text), st.plain), qr_drawing(url, 24 * mm)]],
        colWidths=[BODY_W - 28 * mm, 28 * mm],
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _check(student: Student, st: Styles, *, full: bool, family_url: str = "") -> list[Flowable]:
    """学生信息核对表: each field a parent can verify, with tick boxes and room for the
    correction, the parent's signature and date line, and (for a reader who maintains
    photos) the QR code of the pupil's family photo upload link."""
    rows: list[list[Any]] = [["项目", "登记内容", "核对", "更正内容"]]
    widths = [30 * mm, 70 * mm, 30 * mm, BODY_W - 130 * mm]
    for key in CHECK_KEYS:
        value = student_value(student, key, full=full)
        label = wrap(BY_KEY[key].header, widths[0])
        rows.append([label, _fit(value, widths[1], st), f"{BOX}正确 {BOX}有误", ""])
    for member in members(student):
        slot = member.slot
        for key in CHECK_MEMBER_KEYS:
            column = BY_KEY[f"m{slot}_{key}"]
            value = member_value(member, key, slot=slot, full=full)
            label = wrap(column.header, widths[0])
            rows.append([label, _fit(value, widths[1], st), f"{BOX}正确 {BOX}有误", ""])
    intro = (
        f"{student.school_class.name}　{student.name}　全国学籍号："
        f"{national_number(student, full=full) or '（未分配）'}"
    )
    note = (
        "请家长逐项核对学校登记的信息：正确的勾选“正确”；有误的勾选“有误”，并在右栏写明正确内容。"
    )
    blank = "＿" * 4
    sign = f"家长（监护人）签字：{blank * 2}　　与学生关系：{blank}　　日期：{blank}年＿＿月＿＿日"
    return [
        *_title(st, "学生信息核对表"),
        Paragraph(escape(intro), st.plain),
        Paragraph(escape(note), st.plain),
        Spacer(1, 2 * mm),
        _table(
            rows,
            widths,
            extra=[("TOPPADDING", (0, 1), (-1, -1), 3.5), ("BOTTOMPADDING", (0, 1), (-1, -1), 3.5)],
        ),
        Spacer(1, 10 * mm),
        Paragraph(escape(sign), st.plain),
        *([Spacer(1, 4 * mm), _family_qr(family_url, st)] if family_url else []),
    ]


def _transcript(student: Student, marks: list[Any], st: Styles) -> list[Flowable]:
    """成绩单: the student's marks per term (newest first): course, level, score."""
    from tenant_apps.grades.terms import TERM_NAMES

    intro = f"{student.school_class.name}　{student.name}　学号 {student.number_in_class or ''}"
    story: list[Flowable] = [*_title(st, "成绩单"), Paragraph(escape(intro), st.plain)]
    terms: dict[tuple[str, int], list[Any]] = {}
    for m in marks:
        terms.setdefault((m.school_year, m.term), []).append(m)
    if not terms:
        story.append(Paragraph("暂无成绩。", st.plain))
    for (year, term), rows in terms.items():
        story.append(Spacer(1, 3 * mm))
        story.append(Paragraph(escape(f"{year}学年{TERM_NAMES.get(term, term)}"), st.heading))
        data: list[list[Any]] = [["课程", "等级", "分数"]]
        data += [[m.course.name, m.get_level_display(), score_text(m.score)] for m in rows]
        story.append(_table(data, [BODY_W * 0.5, BODY_W * 0.25, BODY_W * 0.25]))
    return story


def score_text(score: Any) -> str:
    """95, 87.5: a score without its trailing zeros ("" when there is none)."""
    return "" if score is None else format(score.normalize(), "f")


def marks_of(students: Sequence[Student]) -> dict[int, list[Any]]:
    """The marks of `students` by student id, newest term first, then course code: one
    query for a whole class."""
    from tenant_apps.grades.models import Mark

    out: dict[int, list[Any]] = {s.pk: [] for s in students}
    for m in (
        Mark.objects.filter(student_id__in=list(out))
        .select_related("course")
        .order_by("-school_year", "-term", "course__code")
    ):
        out[m.student_id].append(m)
    return out


def _doc(out: io.BytesIO, *, school_name: str, title: str) -> BaseDocTemplate:
    printed = timezone.localdate().isoformat()

    def decorate(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font(), 8)
        canvas.setFillColor(colors.Color(0.35, 0.35, 0.35))
        canvas.drawString(MARGIN, PAGE_H - 10 * mm, school_name)
        canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - 10 * mm, f"打印日期：{printed}")
        canvas.line(MARGIN, PAGE_H - 11.5 * mm, PAGE_W - MARGIN, PAGE_H - 11.5 * mm)
        canvas.drawCentredString(PAGE_W / 2, 8 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        title=title,
        author=school_name,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=14 * mm,
    )
    frame = Frame(
        MARGIN,
        14 * mm,
        BODY_W,
        PAGE_H - 30 * mm,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=decorate)])
    return doc


def render_pdf(
    document: str,
    groups: Sequence[Group],
    *,
    school_name: str,
    full: bool,
    progress: Callable[[int], None] | None = None,
    marks: dict[int, list[Any]] | None = None,
    family_urls: dict[int, str] | None = None,
) -> bytes:
    """The document as one PDF; `progress(students done)` after each class. A 成绩单's
    marks are read per class unless given (`marks`, for a forked process: no database).
    `family_urls` (student pk: link) puts each pupil's upload QR code on the 核对表."""
    st = _styles()
    story: list[Flowable] = []
    done = 0
    for group in groups:
        if story:
            story.append(PageBreak())
        if document in ("roster", "intake", "graduates"):
            story += _roster(group, st, document=document)
        else:
            if document == "transcript" and marks is None:
                group_marks = marks_of(group.students)
            else:
                group_marks = marks or {}
            for i, student in enumerate(group.students):
                if i:
                    story.append(PageBreak())
                if document == "card":
                    story += _card(student, st, full=full)
                elif document == "check":
                    url = (family_urls or {}).get(student.pk, "")
                    story += _check(student, st, full=full, family_url=url)
                else:
                    story += _transcript(student, group_marks.get(student.pk, []), st)
        done += len(group.students)
        if progress is not None:
            progress(done)
    if not story:
        story = [*_title(st, DOCUMENTS[document]), Paragraph("没有符合条件的学生。", st.plain)]
    out = io.BytesIO()
    _doc(out, school_name=school_name, title=DOCUMENTS[document]).build(story)
    return out.getvalue()


# -- Excel -----------------------------------------------------------------------------


def _sheet_title(group: Group, used: set[str]) -> str:
    # Excel allows 31 characters and no []:*?/\ in a sheet's name.
    base = group.school_class.name.replace("(", "（").replace(")", "）")[:31]
    title, n = base, 2
    while title in used:
        title, n = f"{base[:28]}-{n}", n + 1
    used.add(title)
    return title


def excel_rows(document: str, group: Group, *, full: bool) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of one class's part of a document in its Excel form."""
    if document in ("roster", "intake", "graduates"):
        rows = _roster_rows(group, _styles(), document=document)
        return [str(h) for h in rows[0]], rows[1:]
    if document == "card":
        header = ["全国学籍号", *(c.header for c in STUDENT_COLUMNS)]
        member_cols = [c for g in ("member1", "member2") for c in MEMBER_COLUMNS[g]]
        header += [c.header for c in member_cols]
        out: list[list[Any]] = []
        for s in group.students:
            by_slot = {m.slot: m for m in members(s)}
            row = [national_number(s, full=full)]
            row += [student_value(s, c.key, full=full) for c in STUDENT_COLUMNS]
            for c in member_cols:
                slot = int(c.key[1])
                m = by_slot.get(slot)
                row.append("" if m is None else member_value(m, c.key[3:], slot=slot, full=full))
            out.append(row)
        return header, out
    if document == "check":
        header = [
            "班级",
            *(BY_KEY[k].header for k in CHECK_KEYS),
            "核对结果",
            "更正内容",
            "家长签字",
            "日期",
        ]
        return header, [
            [
                s.school_class.name,
                *(student_value(s, k, full=full) for k in CHECK_KEYS),
                "",
                "",
                "",
                "",
            ]
            for s in group.students
        ]
    from tenant_apps.grades.terms import TERM_NAMES

    header = ["班级", "学号", "姓名", "学年", "学期", "课程", "等级", "分数"]
    marks = marks_of(group.students)
    out = []
    for s in group.students:
        for m in marks[s.pk]:
            out.append(
                [
                    s.school_class.name,
                    s.number_in_class,
                    s.name,
                    m.school_year,
                    TERM_NAMES.get(m.term, str(m.term)),
                    m.course.name,
                    m.get_level_display(),
                    None if m.score is None else float(m.score),
                ]
            )
    return header, out


def render_xlsx(
    document: str,
    groups: Sequence[Group],
    *,
    full: bool,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """The document as one workbook, a sheet per class."""
    wb = Workbook(write_only=True)
    used: set[str] = set()
    done = 0
    for group in groups:
        ws = wb.create_sheet(_sheet_title(group, used))
        header, rows = excel_rows(document, group, full=full)
        ws.append(row_safe(ws, header))
        for row in rows:
            ws.append(row_safe(ws, row))
        done += len(group.students)
        if progress is not None:
            progress(done)
    if not groups:
        ws = wb.create_sheet(DOCUMENTS[document])
        ws.append(row_safe(ws, ["没有符合条件的学生。"]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
