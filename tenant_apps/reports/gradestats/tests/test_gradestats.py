"""Grade statistics (issue 15 item 6) against figures computed by hand from the fixture
below: averages of the scores (a level without a score counts in the distribution, not
the average), the level distribution, the pass rate, a class with courses but no marks,
the comparisons, scope for a class teacher and a subject teacher, the Excel export and
the mark sheets (PDF text found by pypdf)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db
D = Decimal


@dataclass(frozen=True)
class Fixture:
    year: str
    term: int
    prev_year: str
    prev_term: int
    class1: int
    class2: int
    class3: int
    class4: int
    chinese: int
    maths: int
    pupil_a1: int


# Marks of the current term (T) and the previous one (P):
#   class1 (小学2024级(05)班): a1 语文 优秀 95, 数学 合格 65; a2 语文 良好 (no score),
#       数学 不合格 40; a3 语文 不合格 52.5
#   class2 (小学2024级(06)班): b1 语文 合格 70, 数学 优秀 99; b2 语文 良好 81
#   class3 (小学2024级(07)班): 语文 as a course, no students, no marks
#   class4 (小学2023级(05)班): c1 语文 优秀 90
#   P: a1 语文 良好 80, b1 语文 合格 60
@pytest.fixture
def fx(world: World) -> Fixture:
    from accounts.models import User
    from common.actor import Actor
    from tenant_apps.grades import services
    from tenant_apps.grades.models import Course, Mark
    from tenant_apps.grades.terms import Term, current_term
    from tenant_apps.registry.models import SchoolClass, Student

    t = current_term()
    p = (
        Term(t.school_year, 1)
        if t.term == 2
        else Term(f"{int(t.school_year[:4]) - 1}-{t.school_year[:4]}", 2)
    )
    with school_context(world.a.schema):
        actor = Actor("admin", "管理员", connection.schema_name)
        chinese = Course.objects.get(code="13")
        maths = Course.objects.get(code="14")

        def klass(year: int, n: int) -> SchoolClass:
            return SchoolClass.objects.create(
                stage="primary", entry_year=year, number=n, class_no=f"{year}1{n:02d}"
            )

        c1, c2, c3, c4 = klass(2024, 5), klass(2024, 6), klass(2024, 7), klass(2023, 5)
        for k, courses in (
            (c1, [chinese, maths]),
            (c2, [chinese, maths]),
            (c3, [chinese]),
            (c4, [chinese]),
        ):
            services.class_courses_set(
                class_id=k.pk, course_ids=[c.pk for c in courses], term=t, actor=actor
            )
        c2.teacher_username = "teacher"
        c2.save(update_fields=["teacher_username"])
        services.assignment_set(
            username="subject", class_ids=[c1.pk], course_ids=[maths.pk], term=t, actor=actor
        )

        def pupil(k: SchoolClass, n: int, name: str) -> Student:
            return Student.objects.create(
                name=name,
                sex="1",
                birth_date=dt.date(2018, 1, n),
                school_class=k,
                number_in_class=n,
                entry_year_month="202409",
            )

        a1, a2, a3 = pupil(c1, 1, "王小红"), pupil(c1, 2, "李小明"), pupil(c1, 3, "张小芳")
        b1, b2 = pupil(c2, 1, "赵小刚"), pupil(c2, 2, "钱小丽")
        c1p = pupil(c4, 1, "孙小伟")
        now = timezone.now()

        def mark(s: Student, course: Course, level: int, score: str | None, term: Term = t) -> None:
            Mark.objects.create(
                student=s,
                course=course,
                school_year=term.school_year,
                term=term.term,
                level=level,
                score=None if score is None else D(score),
                entered_by="测试",
                entered_at=now,
            )

        mark(a1, chinese, 4, "95")
        mark(a2, chinese, 3, None)
        mark(a3, chinese, 1, "52.5")
        mark(b1, chinese, 2, "70")
        mark(b2, chinese, 3, "81")
        mark(c1p, chinese, 4, "90")
        mark(a1, maths, 2, "65")
        mark(a2, maths, 1, "40")
        mark(b1, maths, 4, "99")
        mark(a1, chinese, 3, "80", p)
        mark(b1, chinese, 2, "60", p)
        for username in ("teacher", "subject"):
            user = User.objects.get(username=username)
            user.extra_rights = ["stats.view"]
            user.save(update_fields=["extra_rights"])
        made = Fixture(
            t.school_year,
            t.term,
            p.school_year,
            p.term,
            c1.pk,
            c2.pk,
            c3.pk,
            c4.pk,
            chinese.pk,
            maths.pk,
            a1.pk,
        )
    connection.set_schema_to_public()
    return made


def _figures(row) -> tuple:
    s = row.stat
    return (s.marks, s.scored, s.average, s.levels, s.pass_rate)


def _every():
    from tenant_apps.reports.gradestats.selectors import Scope

    return Scope(every=True)


def _term(fx: Fixture):
    from tenant_apps.grades.terms import Term

    return Term(fx.year, fx.term)


def _mine(table, names: set[str]) -> dict[tuple[str, ...], tuple]:
    """The rows of `table` whose first label is one of the fixture's (school A's
    sentinel class and other tests' data are left out)."""
    return {r.labels: _figures(r) for r in table.rows if r.labels[0] in names}


CLASSES = {"小学2024级(05)班", "小学2024级(06)班", "小学2024级(07)班", "小学2023级(05)班"}


def test_course_table_averages_distribution_and_pass_rate(world: World, fx: Fixture) -> None:
    from tenant_apps.reports.gradestats.selectors import course_table

    with school_context(world.a.schema):
        table = course_table(term=_term(fx), scope=_every())
    # 语文: 6 marks, 5 scores: (95 + 52.5 + 70 + 81 + 90) / 5 = 77.7; pass 5/6 = 83.3%
    # 数学: 3 marks: (65 + 40 + 99) / 3 = 68.0; pass 2/3 = 66.7%
    assert {r.labels: _figures(r) for r in table.rows} == {
        ("语文",): (6, 5, D("77.7"), (2, 2, 1, 1), D("83.3")),
        ("数学",): (3, 3, D("68.0"), (1, 0, 1, 1), D("66.7")),
    }
    chinese = table.rows[0].stat
    assert chinese.level_rates == (D("33.3"), D("33.3"), D("16.7"), D("16.7"))


def test_grade_and_class_tables_include_a_class_without_marks(world: World, fx: Fixture) -> None:
    from tenant_apps.reports.gradestats.selectors import class_table, grade_table

    with school_context(world.a.schema):
        grades = grade_table(term=_term(fx), scope=_every())
        classes = class_table(term=_term(fx), scope=_every())
    # 2024级 语文: a1..a3, b1, b2 = 5 marks, scores 95, 52.5, 70, 81 -> 74.625 -> 74.6
    assert _mine(grades, {"小学2024级", "小学2023级"}) == {
        ("小学2024级", "语文"): (5, 4, D("74.6"), (1, 2, 1, 1), D("80.0")),
        ("小学2024级", "数学"): (3, 3, D("68.0"), (1, 0, 1, 1), D("66.7")),
        ("小学2023级", "语文"): (1, 1, D("90.0"), (1, 0, 0, 0), D("100.0")),
    }
    assert _mine(classes, CLASSES) == {
        # (95 + 52.5) / 2 = 73.75, rounded half up
        ("小学2024级(05)班", "语文"): (3, 2, D("73.8"), (1, 1, 0, 1), D("66.7")),
        ("小学2024级(05)班", "数学"): (2, 2, D("52.5"), (0, 0, 1, 1), D("50.0")),
        ("小学2024级(06)班", "语文"): (2, 2, D("75.5"), (0, 1, 1, 0), D("100.0")),
        ("小学2024级(06)班", "数学"): (1, 1, D("99.0"), (1, 0, 0, 0), D("100.0")),
        ("小学2024级(07)班", "语文"): (0, 0, None, (0, 0, 0, 0), None),
        ("小学2023级(05)班", "语文"): (1, 1, D("90.0"), (1, 0, 0, 0), D("100.0")),
    }


def test_class_against_class_and_term_against_term(world: World, fx: Fixture) -> None:
    from tenant_apps.grades.terms import Term, term_choices
    from tenant_apps.reports.gradestats.selectors import classes_compare, terms_compare

    with school_context(world.a.schema):
        side = classes_compare(
            term=_term(fx), scope=_every(), grade="primary-2024", course_id=fx.chinese
        )
        trend = terms_compare(terms=term_choices(_term(fx)), scope=_every(), course_id=fx.chinese)
        one_class = terms_compare(
            terms=term_choices(_term(fx)), scope=_every(), course_id=fx.chinese, class_id=fx.class2
        )
    assert _mine(side, CLASSES) == {
        ("小学2024级(05)班",): (3, 2, D("73.8"), (1, 1, 0, 1), D("66.7")),
        ("小学2024级(06)班",): (2, 2, D("75.5"), (0, 1, 1, 0), D("100.0")),
        ("小学2024级(07)班",): (0, 0, None, (0, 0, 0, 0), None),
    }
    assert "小学2023级(05)班" not in {r.labels[0] for r in side.rows}
    now, before = Term(fx.year, fx.term).label, Term(fx.prev_year, fx.prev_term).label
    by_term = {r.labels[0]: _figures(r) for r in trend.rows}
    # P: 80 and 60 -> 70.0, both 合格 or better
    assert by_term[before] == (2, 2, D("70.0"), (0, 1, 1, 0), D("100.0"))
    assert by_term[now] == (6, 5, D("77.7"), (2, 2, 1, 1), D("83.3"))
    labels = [r.labels[0] for r in trend.rows]
    assert labels.index(before) < labels.index(now)  # oldest first
    class2 = {r.labels[0]: _figures(r) for r in one_class.rows}
    assert class2[before] == (1, 1, D("60.0"), (0, 0, 1, 0), D("100.0"))
    assert class2[now] == (2, 2, D("75.5"), (0, 1, 1, 0), D("100.0"))


def test_scope_class_teacher_own_class_subject_teacher_own_course(
    world: World, fx: Fixture
) -> None:
    from accounts.models import User
    from tenant_apps.reports.gradestats.selectors import course_table, scope_for

    with school_context(world.a.schema):
        teacher = scope_for(User.objects.get(username="teacher"))
        subject = scope_for(User.objects.get(username="subject"))
        mine = course_table(term=_term(fx), scope=teacher)
        taught = course_table(term=_term(fx), scope=subject)
    # the class teacher of class2: b1, b2 only
    assert {r.labels: _figures(r) for r in mine.rows} == {
        ("语文",): (2, 2, D("75.5"), (0, 1, 1, 0), D("100.0")),
        ("数学",): (1, 1, D("99.0"), (1, 0, 0, 0), D("100.0")),
    }
    # the subject teacher of class1's 数学: a1 65, a2 40; no 语文 at all
    assert {r.labels: _figures(r) for r in taught.rows} == {
        ("数学",): (2, 2, D("52.5"), (0, 0, 1, 1), D("50.0")),
    }
    # pages: the right is needed, and the subject teacher gets no whole class sheet
    assert login(world.a.host, "staff").get("/reports/grades/").status_code == 403
    subject_client = login(world.a.host, "subject")
    page = subject_client.get(f"/reports/grades/?year={fx.year}&term={fx.term}")
    assert page.status_code == 200
    assert "赵小刚" not in page.content.decode()
    assert subject_client.get(f"/reports/grades/sheets/class/{fx.class1}/").status_code == 404
    teacher_client = login(world.a.host, "teacher")
    assert teacher_client.get(f"/reports/grades/sheets/class/{fx.class1}/").status_code == 404
    assert teacher_client.get(f"/reports/grades/sheets/class/{fx.class2}/").status_code == 200
    connection.set_schema_to_public()


def test_pages_and_excel_export_audited(world: World, fx: Fixture) -> None:
    from openpyxl import load_workbook

    from accounts.models import AuditEntry

    admin = login(world.a.host, "admin")
    query = f"year={fx.year}&term={fx.term}"
    for path in (
        f"/reports/grades/?{query}",
        f"/reports/grades/compare/classes/?{query}&grade=primary-2024&course={fx.chinese}",
        f"/reports/grades/compare/terms/?course={fx.chinese}",
    ):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert 'data-chart="' in response.content.decode()
    response = admin.get(f"/reports/grades/export/course/?{query}")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]  # type: ignore[union-attr]
    assert rows[0][:3] == ["课程", "成绩数", "有分数"]
    assert rows[1] == ["语文", 6, 5, 77.7, 2, 2, 1, 1, 33.3, 33.3, 16.7, 16.7, 83.3]
    assert rows[2] == ["数学", 3, 3, 68.0, 1, 0, 1, 1, 33.3, 0.0, 33.3, 33.3, 66.7]
    assert admin.get("/reports/grades/export/nothing/").status_code == 404
    with school_context(world.a.schema):
        entry = AuditEntry.objects.filter(
            action="read.export", object_type="grade_stats.course"
        ).latest("pk")
        assert entry.after["rows"] == 2
        assert entry.after["filters"] == {"year": fx.year, "term": str(fx.term)}
    connection.set_schema_to_public()


def test_mark_sheets_excel_and_pdf(world: World, fx: Fixture) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    from accounts.models import AuditEntry

    admin = login(world.a.host, "admin")
    query = f"year={fx.year}&term={fx.term}"
    xlsx = admin.get(f"/reports/grades/sheets/class/{fx.class1}/?{query}")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]  # type: ignore[union-attr]
    assert rows == [
        ["班内学号", "姓名", "语文", "数学"],
        ["1", "王小红", "优秀 95.0", "合格 65.0"],
        ["2", "李小明", "良好", "不合格 40.0"],
        ["3", "张小芳", "不合格 52.5", "—"],
    ]
    pdf = admin.get(f"/reports/grades/sheets/class/{fx.class1}/?{query}&output=pdf")
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "王小红" in text
    assert "张小芳" in text
    assert "语文" in text
    student = admin.get(f"/reports/grades/sheets/student/{fx.pupil_a1}/?output=pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(student.content)).pages)
    assert "王小红" in text
    assert "80.0" in text
    assert "95.0" in text
    with school_context(world.a.schema):
        sheets = AuditEntry.objects.filter(action="read.export", object_type="mark_sheet")
        assert sheets.count() == 3
        first = sheets.order_by("pk").first()
        assert first is not None
        assert first.after == {
            "rows": 3,
            "filters": {
                "class": "小学2024级(05)班",
                "year": fx.year,
                "term": fx.term,
                "format": "xlsx",
            },
        }
    connection.set_schema_to_public()


def test_api_tables_and_sheets_follow_the_pages(world: World, fx: Fixture) -> None:
    from pypdf import PdfReader

    admin = login(world.a.host, "admin")
    query = f"year={fx.year}&term={fx.term}"
    body = admin.get(f"/api/v1/reports/grades/stats/course/?{query}").json()
    assert body["key"] == "course"
    assert body["rows"] == [
        {
            "labels": ["语文"],
            "marks": 6,
            "scored": 5,
            "average": "77.7",
            "pass_rate": "83.3",
            "levels": {"excellent": 2, "good": 2, "passed": 1, "fail": 1},
        },
        {
            "labels": ["数学"],
            "marks": 3,
            "scored": 3,
            "average": "68.0",
            "pass_rate": "66.7",
            "levels": {"excellent": 1, "good": 0, "passed": 1, "fail": 1},
        },
    ]
    classes = admin.get(
        f"/api/v1/reports/grades/stats/classes/?{query}&grade=primary-2024&course={fx.chinese}"
    ).json()
    by_class = {tuple(r["labels"]): r["average"] for r in classes["rows"]}
    assert by_class[("小学2024级(07)班",)] is None
    assert by_class[("小学2024级(05)班",)] == "73.8"
    assert admin.get("/api/v1/reports/grades/stats/nothing/").status_code == 404
    subject = login(world.a.host, "subject")
    taught = subject.get(f"/api/v1/reports/grades/stats/course/?{query}").json()
    assert [(r["labels"], r["average"]) for r in taught["rows"]] == [(["数学"], "52.5")]
    assert subject.get(f"/api/v1/reports/grades/sheets/class/{fx.class1}/").status_code == 404
    assert (
        login(world.a.host, "staff").get("/api/v1/reports/grades/stats/course/").status_code == 403
    )
    pdf = admin.get(f"/api/v1/reports/grades/sheets/class/{fx.class2}/?{query}&output=pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "赵小刚" in text
