"""Marks import from Excel (issue 15 item 6): the class template, the dry run naming row
and column of every kind of error, the confirmation writing every course in one
transaction through the grades services, nothing written when the file has an error or
when a cell changed hands since the check, and no import into a cell the user does not
hold (one writer per cell, domain.md §3.14.4)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from openpyxl import Workbook, load_workbook

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Fixture:
    klass: int
    chinese_cell: int
    maths_cell: int


@pytest.fixture
def fx(world: World) -> Fixture:
    from accounts.models import User
    from common.actor import Actor
    from tenant_apps.grades import services
    from tenant_apps.grades.models import ClassCourse, Course
    from tenant_apps.grades.terms import current_term
    from tenant_apps.registry.models import SchoolClass, Student

    t = current_term()
    with school_context(world.a.schema):
        actor = Actor("admin", "管理员", connection.schema_name)
        k = SchoolClass.objects.create(
            stage="primary", entry_year=2024, number=8, class_no="2024108"
        )
        chinese, maths = Course.objects.get(code="13"), Course.objects.get(code="14")
        services.class_courses_set(
            class_id=k.pk, course_ids=[chinese.pk, maths.pk], term=t, actor=actor
        )
        for n, name in ((1, "王小红"), (2, "李小明")):
            Student.objects.create(
                name=name,
                sex="2",
                birth_date=dt.date(2018, 2, n),
                school_class=k,
                number_in_class=n,
                entry_year_month="202409",
            )
        if not User.objects.filter(username="330102").exists():
            from accounts.services import user_create

            user_create(username="330102", full_name="数学老师", roles=["subject_teacher"])
        services.assignment_set(
            username="subject", class_ids=[k.pk], course_ids=[chinese.pk], term=t, actor=actor
        )
        services.assignment_set(
            username="330102", class_ids=[k.pk], course_ids=[maths.pk], term=t, actor=actor
        )

        def cell(c):
            return ClassCourse.objects.get(  # noqa: E731
                school_class=k, course=c, school_year=t.school_year, term=t.term
            ).pk

        made = Fixture(k.pk, cell(chinese), cell(maths))
    connection.set_schema_to_public()
    return made


def _file(rows: list[list[object]]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(["小学2024级(08)班 成绩导入"])  # type: ignore[union-attr]
    for row in rows:
        ws.append(row)  # type: ignore[union-attr]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _marks(world: World, klass: int) -> list[tuple[str, str, int, str | None]]:
    from tenant_apps.grades.models import Mark

    with school_context(world.a.schema):
        rows = [
            (m.student.name, m.course.name, m.level, None if m.score is None else str(m.score))
            for m in Mark.objects.filter(student__school_class_id=klass)
            .select_related("student", "course")
            .order_by("student__number_in_class", "course__code")
        ]
    connection.set_schema_to_public()
    return rows


def _user(world: World, username: str):
    from accounts.models import User

    with school_context(world.a.schema):
        return User.objects.get(username=username)


def test_template_holds_the_users_courses_and_the_students(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "subject")
    response = client.get(f"/reports/grades/import/template/{fx.klass}/")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]  # type: ignore[union-attr]
    # only 语文: 数学 of this class is another teacher's cell
    assert rows == [
        ["班内学号", "姓名", "语文等级", "语文分数"],
        [1, "王小红", None, None],
        [2, "李小明", None, None],
    ]
    # the other teacher's class is not offered at all
    assert login(world.a.host, "staff").get("/reports/grades/import/").status_code == 403


def test_dry_run_names_row_and_column_of_every_error_and_writes_nothing(
    world: World, fx: Fixture
) -> None:
    from tenant_apps.grades import imports

    data = _file(
        [
            ["班内学号", "姓名", "语文等级", "语文分数", "数学等级", "体育与健康等级"],
            [1, "王小红", "优秀", 95, "", ""],
            [3, "张三", "良好", 80, "", ""],
            [2, "李小明", "很好", 101, "", ""],
            [],
            [1, "王小红", "", "", "", ""],
        ]
    )
    user = _user(world, "subject")
    with school_context(world.a.schema):
        report = imports.dry_run(user=user, class_id=fx.klass, filename="成绩.xlsx", data=data)
    connection.set_schema_to_public()
    messages = [(e.row, e.column, e.message) for e in report.errors]
    assert messages == [
        (2, "E", "第2行E列“数学等级”：您没有小学2024级(08)班“数学”的成绩录入权限。"),
        (2, "F", f"第2行F列“体育与健康等级”：小学2024级(08)班在{_label()}没有开设“体育与健康”。"),
        (4, "B", "第4行B列“姓名”：本班没有班内学号为“3”、姓名为“张三”的在读学生。"),
        (5, "C", "第5行C列“语文等级”：等级“很好”无效，应为优秀、良好、合格或不合格。"),
        (5, "D", "第5行D列“语文分数”：分数“101”无效，应为 0 到 100 之间、最多一位小数的数字。"),
        (7, "B", "第7行B列“姓名”：学生“王小红”在第3行已出现。"),
    ]
    assert report.token == ""
    assert report.skipped_blank == 1
    # a row of the right student with neither level nor score
    data = _file(
        [
            ["班内学号", "姓名", "语文等级", "语文分数"],
            [1, "王小红", "优秀", ""],
            [2, "李小明", None, None],
        ]
    )
    with school_context(world.a.schema):
        report = imports.dry_run(user=user, class_id=fx.klass, filename="成绩.xlsx", data=data)
    connection.set_schema_to_public()
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (4, "C", "第4行C列“语文等级”：李小明的“语文”等级和分数都没有填写。")
    ]
    assert report.token == ""
    assert _marks(world, fx.klass) == []


def _label() -> str:
    from tenant_apps.grades.terms import current_term

    return current_term().label


def test_upload_check_and_confirm_through_the_pages(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "subject")
    good = _file(
        [
            ["班内学号", "姓名", "语文等级", "语文分数"],
            [1, "王小红", "优秀", 95],
            [2, "李小明", "合格", None],
        ]
    )
    page = client.post(
        "/reports/grades/import/",
        {"class": fx.klass, "file": SimpleUploadedFile("成绩.xlsx", good)},
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert "确认导入" in body
    assert _marks(world, fx.klass) == []  # the check writes nothing
    token = page.context["report"].token
    done = client.post("/reports/grades/import/confirm/", {"token": token}, follow=True)
    assert "已导入小学2024级(08)班的成绩：2 项录入或修改" in done.content.decode()
    assert _marks(world, fx.klass) == [("王小红", "语文", 4, "95.0"), ("李小明", "语文", 2, None)]
    # another user cannot replay the token
    other = login(world.a.host, "admin")
    assert other.post("/reports/grades/import/confirm/", {"token": token}).status_code == 403
    from common.exceptions import ApplicationError
    from tenant_apps.grades import imports

    with (
        school_context(world.a.schema),
        pytest.raises(ApplicationError, match="导入确认已过期或无效"),
    ):
        imports.confirm(user=_user(world, "330102"), token=token)
    connection.set_schema_to_public()
    # an upload for a class the user holds no cell of is not found
    assert (
        client.post(
            "/reports/grades/import/",
            {"class": 999999, "file": SimpleUploadedFile("成绩.xlsx", good)},
        ).status_code
        == 404
    )


def test_confirm_is_all_or_nothing_when_a_cell_changes_hands(world: World, fx: Fixture) -> None:
    """Two courses in one file; the second cell goes to another teacher between the check
    and the confirmation: the first course is not written either."""
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from tenant_apps.grades import imports, services
    from tenant_apps.grades.models import Course, TeachingAssignment
    from tenant_apps.grades.terms import current_term

    with school_context(world.a.schema):
        TeachingAssignment.objects.filter(class_course_id=fx.maths_cell).update(
            user_username="subject"
        )
    connection.set_schema_to_public()
    user = _user(world, "subject")
    data = _file(
        [
            ["班内学号", "姓名", "语文等级", "语文分数", "数学等级", "数学分数"],
            [1, "王小红", "优秀", 95, "良好", 88],
            [2, "李小明", "合格", 61, "合格", 60],
        ]
    )
    with school_context(world.a.schema):
        report = imports.dry_run(user=user, class_id=fx.klass, filename="a.xlsx", data=data)
        assert report.errors == []
        assert report.marks == 4
        services.assignment_set(
            username="330102",
            class_ids=[fx.klass],
            course_ids=[Course.objects.get(code="14").pk],
            term=current_term(),
            replace=True,
            actor=Actor("admin", "管理员", connection.schema_name),
        )
        with pytest.raises(ApplicationError, match="未导入任何成绩"):
            imports.confirm(user=user, token=report.token)
        with pytest.raises(ApplicationError, match="导入确认已过期或无效"):
            imports.confirm(user=user, token=report.token[:-2] + "xx")
    connection.set_schema_to_public()
    assert _marks(world, fx.klass) == []


def test_api_upload_report_and_confirm(world: World, fx: Fixture) -> None:
    client = login(world.a.host, "subject")
    bad = _file([["班内学号", "姓名", "语文等级", "语文分数"], [1, "王小红", "优", 95]])
    report = client.post(
        "/api/v1/reports/grades/import/",
        {"class_id": fx.klass, "file": SimpleUploadedFile("a.xlsx", bad)},
    ).json()
    assert report["token"] == ""
    assert report["problems"] == [
        {
            "row": 3,
            "column": "C",
            "header": "语文等级",
            "message": "第3行C列“语文等级”：等级“优”无效，应为优秀、良好、合格或不合格。",
        }
    ]
    good = _file([["班内学号", "姓名", "语文等级", "语文分数"], [1, "王小红", "良好", 85.5]])
    report = client.post(
        "/api/v1/reports/grades/import/",
        {"class_id": fx.klass, "file": SimpleUploadedFile("a.xlsx", good)},
    ).json()
    assert report["problems"] == []
    assert report["marks"] == 1
    assert _marks(world, fx.klass) == []
    done = client.post(
        "/api/v1/reports/grades/import/confirm/",
        {"token": report["token"]},
        content_type="application/json",
    )
    assert done.json() == {"class_name": "小学2024级(08)班", "saved": 1, "unchanged": 0}
    assert _marks(world, fx.klass) == [("王小红", "语文", 3, "85.5")]
    # a class the user holds no cell of is not found
    other = client.post(
        "/api/v1/reports/grades/import/",
        {"class_id": 999999, "file": SimpleUploadedFile("a.xlsx", good)},
    )
    assert other.status_code == 404
