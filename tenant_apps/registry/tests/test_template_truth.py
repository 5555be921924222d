"""The import template tells the truth (issue 12): a column is marked red exactly when a
row without it is refused. The marks are read back from the generated template itself,
so what is tested is what a registrar sees.

* 1,000 pupils filled in exactly as marked (every red column; an orange one only where
  its note says it applies; nothing else) are all accepted by the real import;
* removing any red column refuses the file, naming that column;
* leaving any red cell empty refuses the row, naming that column; leaving any black one
  empty does not.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from config.celery import app
from django.db import connection
from openpyxl import Workbook, load_workbook

from conftest import World, login
from tenant_apps.registry.fields import BY_HEADER, COLUMNS, Column
from tenant_apps.registry.imports.columns import DATA_SHEET, MARK_COLOURS, UploadRejected
from tenant_apps.registry.imports.reader import workbook_sheet
from tenant_apps.registry.imports.template import template_build
from tenant_apps.registry.tests.factories import valid_row
from tenant_apps.registry.validation.rows import RowValidator

pytestmark = pytest.mark.django_db
BASE = 9000  # seq offset so these pupils never meet the other tests' pupils
PUPILS = 1000


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _marks() -> dict[str, str]:
    """{header: "required" | "conditional" | "optional"} as the template's header fonts
    show them."""
    colours = {colour: mark for mark, colour in MARK_COLOURS.items()}
    sheet = load_workbook(
        io.BytesIO(template_build(school_name="测试学校", school_code="2143990001"))
    )[DATA_SHEET]
    return {str(cell.value): colours[cell.font.color.rgb] for cell in sheet[1] if cell.value}


def _as_marked(seq: int, marks: dict[str, str]) -> dict[str, object]:
    """A pupil with every red column, the orange ones whose condition holds for it (a
    resident ID, so 身份证件号; one guardian, 成员1), and nothing else."""
    row = valid_row(seq)
    kept: dict[str, object] = {}
    for column in COLUMNS:
        mark = marks[column.header]
        if mark == "required" or column.key in {"id_number", "m1_is_guardian"}:
            kept[column.key] = row[column.key]
    kept["m1_is_guardian"] = "是"
    return kept


def _workbook(rows: list[dict[str, object]], columns: list[Column]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = DATA_SHEET  # type: ignore[union-attr]
    sheet.append([c.header for c in columns])  # type: ignore[union-attr]
    for row in rows:
        sheet.append([row.get(c.key) for c in columns])  # type: ignore[union-attr]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_template_marks_three_kinds_and_the_grade_is_not_asked_for() -> None:
    marks = _marks()
    assert set(marks) == {c.header for c in COLUMNS}
    assert marks["年级"] == "optional", "the class number gives the grade"
    assert marks["成员1姓名"] == marks["成员2关系"] == "required"
    assert marks["成员1是否监护人"] == marks["身份证件号"] == "conditional"


def test_a_template_filled_exactly_as_marked_is_accepted_row_by_row(
    world: World, eager: None, django_capture_on_commit_callbacks
) -> None:
    marks = _marks()
    rows = [_as_marked(BASE + i, marks) for i in range(PUPILS)]
    # into the downloaded template itself, under its own header row
    book = load_workbook(io.BytesIO(template_build(school_name=world.a.name, school_code="x")))
    sheet = book[DATA_SHEET]
    for r, row in enumerate(rows, start=2):
        for ci, column in enumerate(COLUMNS, start=1):
            sheet.cell(row=r, column=ci, value=row.get(column.key))  # type: ignore[call-overload]
    out = io.BytesIO()
    book.save(out)
    upload = io.BytesIO(out.getvalue())
    upload.name = "按模板填写.xlsx"
    client = login(world.a.host, "registrar")
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/api/v1/imports/", {"file": upload})
    connection.set_schema_to_public()
    assert started.status_code == 202, started.content
    report = client.get(f"/api/v1/imports/{started.json()['id']}/").json()
    connection.set_schema_to_public()
    assert report["errors"][:3] == []
    assert report["counts"]["valid"] == PUPILS
    assert report["counts"]["headers_unknown"] == []


def test_removing_any_red_column_refuses_the_file_naming_it(db: None) -> None:
    marks = _marks()
    rows = [_as_marked(BASE + i, marks) for i in range(20)]
    red = [c for c in COLUMNS if marks[c.header] == "required"]
    for gone in red:
        data = _workbook(rows, [c for c in COLUMNS if c is not gone])
        with pytest.raises(UploadRejected) as refused:
            workbook_sheet(data=data, fmt="xlsx")
        assert "缺少必填列" in refused.value.message
        assert gone.header in refused.value.message, gone.header


def test_an_empty_red_cell_refuses_the_row_and_an_empty_black_one_does_not(db: None) -> None:
    marks = _marks()
    validator = RowValidator()
    marked, full = _as_marked(BASE + 500, marks), valid_row(BASE + 500)
    assert validator.validate(marked).errors == []
    assert validator.validate(full).errors == []
    for header, mark in marks.items():
        key = BY_HEADER[header].key
        if mark == "required":
            result = validator.validate({**marked, key: None})
            assert result.errors, f"{header} is marked red but a row without it passes"
            # the message names the column (member rules name 成员1 and the missing part)
            assert any(header in e.message or header.startswith(e.header) for e in result.errors)
        elif mark == "optional":
            result = validator.validate({**full, key: None})
            assert result.errors == [], f"{header} is black but a row without it is refused"
