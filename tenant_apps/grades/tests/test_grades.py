"""Courses, grade-entry permissions and marks (domain.md §3.14, issue #5 item 1): the
subject teacher enters marks only for the cells assigned to him or her this term, one
writer per cell, copies to several classes, validation naming the row, audit, scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import connection

from conftest import PASSWORD, World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Setup:
    class1: int
    class2: int
    chinese1: int  # 小学2024级(01)班·语文, current term, assigned to "subject"
    maths1: int  # 小学2024级(01)班·数学, current term, unassigned
    chinese2: int  # 小学2024级(02)班·语文, current term, assigned to "330101"
    old_chinese1: int  # class 1·语文 of the previous term, assigned to "subject"
    pupils1: tuple[str, ...]  # identifiers of class 1's students, in class order
    pupil2: str  # a student of class 2


def _actor():
    from common.actor import Actor

    return Actor("admin", "管理员", connection.schema_name)


def _teacher(username: str, roles: list[str], extra: list[str] | None = None) -> None:
    from accounts.models import User
    from accounts.services import user_create

    user_create(username=username, full_name=f"老师{username}", roles=roles)
    user = User.objects.get(username=username)
    user.set_password(PASSWORD)
    user.must_change_password = False
    user.extra_rights = extra or []
    user.save()


def _pupil(klass, n: int, name: str):
    from tenant_apps.registry.models import Student

    return Student.objects.create(
        name=name,
        sex="2",
        birth_date=dt.date(2018, 5, n),
        school_class=klass,
        number_in_class=n,
        entry_year_month="202409",
    )


def _course(code: str) -> int:
    from tenant_apps.grades.models import Course

    return Course.objects.get(code=code).pk


@pytest.fixture
def setup(world: World) -> Setup:
    from tenant_apps.grades import services
    from tenant_apps.grades.models import ClassCourse
    from tenant_apps.grades.terms import Term, current_term
    from tenant_apps.registry.models import SchoolClass

    term = current_term()
    previous = (
        Term(term.school_year, 1)
        if term.term == 2
        else Term(f"{int(term.school_year[:4]) - 1}-{term.school_year[:4]}", 2)
    )
    with school_context(world.a.schema):
        class1 = SchoolClass.objects.get(class_no="2024101")
        class2 = SchoolClass.objects.create(
            stage="primary", entry_year=2024, number=2, class_no="2024102"
        )
        pupils = [_pupil(class1, 2, "王小红"), _pupil(class1, 3, "李小明")]
        other = _pupil(class2, 1, "赵小刚")
        _teacher("330101", ["subject_teacher"])
        for klass in (class1, class2):
            services.class_courses_set(
                class_id=klass.pk,
                course_ids=[_course("13"), _course("14")],
                term=term,
                actor=_actor(),
            )
        services.class_courses_set(
            class_id=class1.pk, course_ids=[_course("13")], term=previous, actor=_actor()
        )
        services.assignment_set(
            username="subject",
            class_ids=[class1.pk],
            course_ids=[_course("13")],
            term=term,
            actor=_actor(),
        )
        services.assignment_set(
            username="subject",
            class_ids=[class1.pk],
            course_ids=[_course("13")],
            term=previous,
            actor=_actor(),
        )
        services.assignment_set(
            username="330101",
            class_ids=[class2.pk],
            course_ids=[_course("13")],
            term=term,
            actor=_actor(),
        )

        def cell(klass: SchoolClass, code: str, t: Term = term) -> int:
            return ClassCourse.objects.get(
                school_class=klass, course__code=code, school_year=t.school_year, term=t.term
            ).pk

        from tenant_apps.grades.selectors import class_students_qs

        idents = tuple(str(s.identifier) for s in class_students_qs([class1.pk]))
        assert len(idents) == 3
        assert str(pupils[0].identifier) in idents
        made = Setup(
            class1=class1.pk,
            class2=class2.pk,
            chinese1=cell(class1, "13"),
            maths1=cell(class1, "14"),
            chinese2=cell(class2, "13"),
            old_chinese1=cell(class1, "13", previous),
            pupils1=idents,
            pupil2=str(other.identifier),
        )
    connection.set_schema_to_public()
    return made


def _marks(world: World) -> list[tuple[str, str, int, str | None]]:
    from tenant_apps.grades.models import Mark

    with school_context(world.a.schema):
        rows = [
            (m.student.name, m.course.code, m.level, None if m.score is None else str(m.score))
            for m in Mark.objects.select_related("student", "course").order_by("student_id")
        ]
    connection.set_schema_to_public()
    return rows


def _api_post(client, path: str, body: dict):
    response = client.post(path, body, content_type="application/json")
    connection.set_schema_to_public()
    return response


def _grid_form(setup: Setup, values: dict[int, tuple[str, str]]) -> dict[str, object]:
    data: dict[str, object] = {"students": list(setup.pupils1), "exam_date": "2026-11-20"}
    for i, ident in enumerate(setup.pupils1):
        level, score = values.get(i, ("", ""))
        data[f"level_{ident}"], data[f"score_{ident}"] = level, score
    return data


# -- courses ------------------------------------------------------------------------------


def test_the_course_list_is_seeded_from_zxxkc_and_editable(world: World) -> None:
    from tenant_apps.grades.models import Course

    with school_context(world.a.schema):
        assert Course.objects.filter(is_national=True).count() == 25
        chinese = Course.objects.get(code="13")
        assert (chinese.name, chinese.stages, chinese.is_active) == ("语文", [], True)
        assert Course.objects.get(code="26").stages == ["senior"]
    connection.set_schema_to_public()
    admin = login(world.a.host, "admin")
    response = admin.post(
        "/grades/courses/",
        {"action": "create", "code": "S01", "name": "浏阳花炮文化", "stages": ["primary"]},
    )
    assert response.status_code == 302
    again = admin.post(
        "/grades/courses/", {"action": "create", "code": "s01", "name": "重复"}, follow=True
    )
    assert "课程代码“s01”已存在。" in again.content.decode()
    with school_context(world.a.schema):
        local = Course.objects.get(code="S01")
        assert (local.name, local.stages, local.is_national) == ("浏阳花炮文化", ["primary"], False)
        pk = Course.objects.get(code="42").pk
    connection.set_schema_to_public()
    admin.post("/grades/courses/", {"action": "disable", "course": pk})
    with school_context(world.a.schema):
        assert Course.objects.get(code="42").is_active is False
    connection.set_schema_to_public()


def test_class_courses_refuse_a_course_of_another_stage(world: World, setup: Setup) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.grades import services
    from tenant_apps.grades.terms import current_term

    with school_context(world.a.schema), pytest.raises(ApplicationError) as refused:
        services.class_courses_set(
            class_id=setup.class1,
            course_ids=[_course("16")],
            term=current_term(),
            actor=_actor(),
        )
    assert refused.value.message == "“物理”不适用于小学（小学2024级(01)班）。"


def test_class_courses_are_copied_to_several_classes(world: World, setup: Setup) -> None:
    from tenant_apps.grades.models import ClassCourse
    from tenant_apps.grades.terms import current_term
    from tenant_apps.registry.models import SchoolClass

    term = current_term()
    with school_context(world.a.schema):
        targets = [
            SchoolClass.objects.create(
                stage="primary", entry_year=2025, number=n, class_no=f"20251{n:02d}"
            ).pk
            for n in (1, 2)
        ]
    connection.set_schema_to_public()
    admin = login(world.a.host, "admin")
    response = admin.post(
        "/grades/class-courses/",
        {
            "action": "copy",
            "source": setup.class1,
            "targets": targets,
            "year": term.school_year,
            "term": term.term,
        },
        follow=True,
    )
    assert "已复制：新增 4 门班级课程，0 门原已开设。" in response.content.decode()
    with school_context(world.a.schema):
        for pk in targets:
            codes = ClassCourse.objects.filter(
                school_class_id=pk, school_year=term.school_year, term=term.term
            ).values_list("course__code", flat=True)
            assert sorted(codes) == ["13", "14"]
    connection.set_schema_to_public()


# -- 成绩录入权限: one writer per cell ------------------------------------------------------------


def test_a_second_writer_is_refused_naming_the_current_one(world: World, setup: Setup) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.grades import services
    from tenant_apps.grades.models import TeachingAssignment
    from tenant_apps.grades.terms import current_term

    with school_context(world.a.schema):
        with pytest.raises(ApplicationError) as refused:
            services.assignment_set(
                username="330101",
                class_ids=[setup.class1],
                course_ids=[_course("13")],
                term=current_term(),
                actor=_actor(),
            )
        assert refused.value.message == (
            "小学2024级(01)班·语文 的成绩已由 测试甲小学subject（subject） 录入。"
            "每个班级的每门课程只能有一位录入人；如需更换，请勾选“替换原录入人”。"
        )
        assert TeachingAssignment.objects.get(class_course_id=setup.chinese1).user_username == (
            "subject"
        )
    connection.set_schema_to_public()
    # the administrator replaces the holder explicitly, on the page
    admin = login(world.a.host, "admin")
    term = current_term()
    page = admin.post(
        "/grades/assignments/",
        {
            "action": "assign",
            "user": "330101",
            "classes": [setup.class1],
            "courses": [_course_in(world, "13")],
            "year": term.school_year,
            "term": term.term,
        },
        follow=True,
    ).content.decode()
    assert "的成绩已由 测试甲小学subject（subject） 录入" in page
    page = admin.post(
        "/grades/assignments/",
        {
            "action": "assign",
            "user": "330101",
            "classes": [setup.class1],
            "courses": [_course_in(world, "13")],
            "replace": "1",
            "year": term.school_year,
            "term": term.term,
        },
        follow=True,
    ).content.decode()
    assert "已替换原录入人：小学2024级(01)班·语文：测试甲小学subject（subject）。" in page
    with school_context(world.a.schema):
        holder = TeachingAssignment.objects.get(class_course_id=setup.chinese1).user_username
    connection.set_schema_to_public()
    assert holder == "330101"
    subject = login(world.a.host, "subject")
    assert subject.get(f"/grades/entry/{setup.chinese1}/").status_code == 404


def _course_in(world: World, code: str) -> int:
    with school_context(world.a.schema):
        pk = _course(code)
    connection.set_schema_to_public()
    return pk


def test_assignments_are_copied_to_several_classes(world: World, setup: Setup) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.grades import services
    from tenant_apps.grades.models import TeachingAssignment
    from tenant_apps.grades.terms import current_term

    term = current_term()
    with school_context(world.a.schema):
        _teacher("330102", ["subject_teacher"])
        services.assignment_set(
            username="330102",
            class_ids=[setup.class1],
            course_ids=[_course("14")],
            term=term,
            actor=_actor(),
        )
        result = services.assignment_copy(
            username="330102",
            source_class_id=setup.class1,
            target_class_ids=[setup.class2],
            term=term,
            actor=_actor(),
        )
        assert (result.assigned, result.unchanged) == (1, 0)
        assert set(
            TeachingAssignment.objects.filter(user_username="330102").values_list(
                "class_course__school_class_id", flat=True
            )
        ) == {setup.class1, setup.class2}
        # a class without the course in 班级课程 is refused, naming it: all or nothing
        from tenant_apps.registry.models import SchoolClass

        bare = SchoolClass.objects.create(
            stage="primary", entry_year=2023, number=1, class_no="2023101"
        )
        with pytest.raises(ApplicationError) as refused:
            services.assignment_copy(
                username="330102",
                source_class_id=setup.class1,
                target_class_ids=[bare.pk],
                term=term,
                actor=_actor(),
            )
        assert refused.value.message == (
            f"小学2023级(01)班 在{term.label}没有开设“数学”，请先在“班级课程”中添加。"
        )
        assert TeachingAssignment.objects.filter(user_username="330102").count() == 2
    connection.set_schema_to_public()


# -- grade entry --------------------------------------------------------------------------------


def test_subject_teacher_enters_marks_for_the_assigned_cell(world: World, setup: Setup) -> None:
    from accounts.models import AuditEntry
    from tenant_apps.grades.models import Mark

    subject = login(world.a.host, "subject")
    listing = subject.get("/grades/").content.decode()
    assert "小学2024级(01)班" in listing
    assert "语文" in listing
    assert "数学" not in listing
    assert "小学2024级(02)班" not in listing
    assert subject.get(f"/grades/entry/{setup.chinese1}/").status_code == 200
    response = subject.post(
        f"/grades/entry/{setup.chinese1}/",
        _grid_form(setup, {0: ("4", "96.5"), 1: ("2", "")}),
    )
    connection.set_schema_to_public()
    assert response.status_code == 302
    assert _marks(world) == [("哨兵甲乙", "13", 4, "96.5"), ("王小红", "13", 2, None)]
    with school_context(world.a.schema):
        mark = Mark.objects.get(score="96.5")
        assert mark.school_year == setup_term().school_year
        assert mark.teacher_number == "subject"
        assert mark.entered_by == "测试甲小学subject（subject）"
        assert mark.exam_date == dt.date(2026, 11, 20)
        entry = AuditEntry.objects.filter(object_type="marks").latest("pk")
        assert entry.object_id == str(setup.chinese1)
        assert entry.username == "subject"
        assert entry.after["哨兵甲乙（1号）"] == {
            "level": "优秀",
            "score": "96.5",
        }
        assert entry.before["王小红（2号）"] == {"level": "", "score": ""}
    connection.set_schema_to_public()
    # changing one row and clearing another: before/after of just those rows
    subject.post(f"/grades/entry/{setup.chinese1}/", _grid_form(setup, {0: ("3", "88")}))
    connection.set_schema_to_public()
    assert _marks(world) == [("哨兵甲乙", "13", 3, "88.0")]
    with school_context(world.a.schema):
        entry = AuditEntry.objects.filter(object_type="marks").latest("pk")
        assert set(entry.before) == {
            "哨兵甲乙（1号）",
            "王小红（2号）",
        }
        assert entry.before["哨兵甲乙（1号）"]["level"] == "优秀"
    connection.set_schema_to_public()


def setup_term():
    from tenant_apps.grades.terms import current_term

    return current_term()


@pytest.mark.parametrize("which", ["maths1", "chinese2", "old_chinese1"])
def test_other_cells_are_not_found_and_nothing_is_written(
    world: World, setup: Setup, which: str
) -> None:
    """Another course of the class, another class, another term: 404, page and API."""
    cell = getattr(setup, which)
    subject = login(world.a.host, "subject")
    assert subject.get(f"/grades/entry/{cell}/").status_code == 404
    assert (
        subject.post(f"/grades/entry/{cell}/", _grid_form(setup, {0: ("4", "90")})).status_code
        == 404
    )
    assert subject.get(f"/api/v1/grades/entry/{cell}/").status_code == 404
    response = _api_post(
        subject,
        f"/api/v1/grades/entry/{cell}/",
        {"rows": [{"student": setup.pupils1[0], "level": "优秀"}]},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert _marks(world) == []


def test_a_forged_student_of_another_class_or_school_writes_nothing(
    world: World, setup: Setup
) -> None:
    from tenant_apps.registry.models import Student

    with school_context(world.b.schema):
        b_pupil = str(Student.objects.get(name="学生b").identifier)
    connection.set_schema_to_public()
    subject = login(world.a.host, "subject")
    for forged in (setup.pupil2, b_pupil):
        response = _api_post(
            subject,
            f"/api/v1/grades/entry/{setup.chinese1}/",
            {
                "rows": [
                    {"student": setup.pupils1[0], "level": "优秀"},
                    {"student": forged, "level": "优秀"},
                ]
            },
        )
        assert response.status_code == 404
        form = _grid_form(setup, {0: ("4", "")})
        form["students"] = [setup.pupils1[0], forged]
        form[f"level_{forged}"] = "4"
        assert subject.post(f"/grades/entry/{setup.chinese1}/", form).status_code == 404
        connection.set_schema_to_public()
    assert _marks(world) == []


@pytest.mark.parametrize(
    ("level", "score", "message"),
    [
        ("很好", "", "第1行（哨兵甲乙）：等级“很好”无效，应为优秀、良好、合格或不合格。"),
        (
            "优秀",
            "101",
            "第1行（哨兵甲乙）：分数“101”无效，应为 0 到 100 之间、最多一位小数的数字。",
        ),
        ("优秀", "-1", "第1行（哨兵甲乙）：分数“-1”无效"),
        ("优秀", "95.55", "第1行（哨兵甲乙）：分数“95.55”无效"),
        ("优秀", "九十", "第1行（哨兵甲乙）：分数“九十”无效"),
        ("", "80", "第1行（哨兵甲乙）：填写了分数，请同时选择等级。"),
    ],
)
def test_bad_marks_are_refused_naming_the_row(
    world: World, setup: Setup, level: str, score: str, message: str
) -> None:
    subject = login(world.a.host, "subject")
    response = _api_post(
        subject,
        f"/api/v1/grades/entry/{setup.chinese1}/",
        {
            "rows": [
                {"student": setup.pupils1[1], "level": "良好", "score": "80"},
                {"student": setup.pupils1[0], "level": level, "score": score},
            ]
        },
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith("成绩有误，请按提示修改后再保存。")
    assert message in error["fields"]["rows[1]"][0]
    assert _marks(world) == []  # the valid row is not saved either
    # the page shows the message beside the row and keeps what was typed
    form = _grid_form(setup, {0: (level if level != "优秀" else "4", score), 1: ("3", "80")})
    page = subject.post(f"/grades/entry/{setup.chinese1}/", form).content.decode()
    connection.set_schema_to_public()
    assert message in page
    assert _marks(world) == []


def test_the_api_lists_assignments_and_reads_and_writes_a_grid(world: World, setup: Setup) -> None:
    subject = login(world.a.host, "subject")
    cells = subject.get("/api/v1/grades/assignments/").json()
    assert [(c["id"], c["class_name"], c["course_name"], c["via"]) for c in cells] == [
        (setup.chinese1, "小学2024级(01)班", "语文", "assignment")
    ]
    response = _api_post(
        subject,
        f"/api/v1/grades/entry/{setup.chinese1}/",
        {
            "exam_date": "2026-12-01",
            "rows": [
                {"student": setup.pupils1[0], "level": "良好", "score": "85.5"},
                {"student": setup.pupils1[2], "level": 1},
            ],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["result"] == {"saved": 2, "cleared": 0, "unchanged": 0}
    assert [(r["name"], r["level"], r["score"]) for r in body["rows"]] == [
        ("哨兵甲乙", "良好", "85.5"),
        ("王小红", "", ""),
        ("李小明", "不合格", ""),
    ]
    grid = subject.get(f"/api/v1/grades/entry/{setup.chinese1}/").json()
    assert grid["rows"][0]["entered_by"] == "测试甲小学subject（subject）"
    # a class teacher without 成绩录入 has no API at all
    assert login(world.a.host, "teacher").get("/api/v1/grades/assignments/").status_code == 403


# -- 交叉授权 --------------------------------------------------------------------------------


def test_a_cell_writable_by_two_users_is_warned(world: World, setup: Setup) -> None:
    """Class rights + an assignment: the class teacher given 成绩录入 can write every course
    of the class, so 语文 of class 1 has two writers."""
    from accounts.models import User
    from accounts.rights import cross_authorisations
    from tenant_apps.grades.selectors import course_cross_authorisations
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        assert course_cross_authorisations() == []
        SchoolClass.objects.filter(pk=setup.class1).update(teacher_username="teacher")
        teacher = User.objects.get(username="teacher")
        teacher.extra_rights = ["grades.enter"]
        teacher.save()
        found = course_cross_authorisations()
        assert [(c.label.split("（")[0], c.writers) for c in found] == [
            (
                "小学2024级(01)班·语文",
                ("测试甲小学subject（subject）", "测试甲小学teacher（teacher）"),
            )
        ]
        assert any(c.class_name.startswith("小学2024级(01)班·语文") for c in cross_authorisations())
    connection.set_schema_to_public()
    admin = login(world.a.host, "admin")
    assert "小学2024级(01)班·语文" in admin.get("/accounts/rights/").content.decode()
    term = setup_term()
    page = admin.get(
        f"/grades/assignments/?year={term.school_year}&term={term.term}"
    ).content.decode()
    assert "交叉授权警告" in page
    # and the rule the warning describes is the one entry follows
    teacher_client = login(world.a.host, "teacher")
    assert teacher_client.get(f"/grades/entry/{setup.maths1}/").status_code == 200
    assert teacher_client.get(f"/grades/entry/{setup.chinese2}/").status_code == 404


# -- viewing ---------------------------------------------------------------------------------


def test_marks_are_shown_to_those_who_may_see_the_class(world: World, setup: Setup) -> None:
    from tenant_apps.grades import services
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        from accounts.models import User

        services.marks_save(
            user=User.objects.get(username="subject"),
            class_course_id=setup.chinese1,
            rows=[{"student": setup.pupils1[0], "level": "优秀", "score": "99"}],
        )
        SchoolClass.objects.filter(pk=setup.class2).update(teacher_username="teacher")
    connection.set_schema_to_public()
    registrar = login(world.a.host, "registrar")
    page = registrar.get(f"/grades/marks/?class={setup.class1}").content.decode()
    assert "哨兵甲乙" in page
    assert "优秀" in page
    assert "99.0" in page
    student_page = registrar.get(f"/registry/students/{setup.pupils1[0]}/").content.decode()
    assert "学业成绩" in student_page
    assert "99.0" in student_page
    teacher = login(world.a.host, "teacher")
    assert teacher.get(f"/grades/marks/?class={setup.class2}").status_code == 200
    assert teacher.get(f"/grades/marks/?class={setup.class1}").status_code == 404
    assert "哨兵甲乙" not in teacher.get("/grades/marks/").content.decode()
    assert login(world.a.host, "subject").get("/grades/marks/").status_code == 403
    # nobody outside users.manage / grades.manage opens the administration pages
    for path in ("/grades/assignments/", "/grades/class-courses/", "/grades/courses/"):
        assert registrar.get(path).status_code == 403
        assert teacher.get(path).status_code == 403


def test_the_current_term_follows_the_calendar() -> None:
    from tenant_apps.grades.terms import current_term, term_parse

    assert current_term(dt.date(2026, 12, 4)).label == "2026-2027学年第一学期"
    assert current_term(dt.date(2027, 1, 20)).label == "2026-2027学年第一学期"
    assert current_term(dt.date(2027, 3, 1)).label == "2026-2027学年第二学期"
    assert current_term(dt.date(2027, 8, 31)).label == "2026-2027学年第二学期"
    assert term_parse("2026-2028", "1") is None
    assert term_parse("2026-2027", "3") is None


def test_the_grade_entry_api_is_in_the_school_schema(world: World) -> None:
    from django.test import Client

    paths = set(
        Client(HTTP_HOST=world.a.host).get("/api/schema/", {"format": "json"}).json()["paths"]
    )
    connection.set_schema_to_public()
    assert {
        "/api/v1/grades/assignments/",
        "/api/v1/grades/entry/{class_course_id}/",
    } <= paths


def test_the_administrator_sets_class_courses_and_removes_an_assignment(
    world: World, setup: Setup
) -> None:
    from tenant_apps.grades.models import ClassCourse, TeachingAssignment

    term = setup_term()
    admin = login(world.a.host, "admin")
    # class 1 keeps 数学 and drops 语文: the 语文 cell and its assignment go, marks would stay
    page = admin.post(
        "/grades/class-courses/",
        {
            "action": "set",
            "class": setup.class1,
            "courses": [_course_in(world, "14"), _course_in(world, "22")],
            "year": term.school_year,
            "term": term.term,
        },
        follow=True,
    ).content.decode()
    assert "已保存班级课程。" in page
    with school_context(world.a.schema):
        codes = ClassCourse.objects.filter(
            school_class_id=setup.class1, school_year=term.school_year, term=term.term
        ).values_list("course__code", flat=True)
        assert sorted(codes) == ["14", "22"]
        assert TeachingAssignment.objects.filter(class_course_id=setup.chinese1).exists() is False
        assignment = TeachingAssignment.objects.get(class_course_id=setup.chinese2).pk
    connection.set_schema_to_public()
    assert login(world.a.host, "subject").get(f"/grades/entry/{setup.chinese1}/").status_code == 404
    page = admin.post(
        "/grades/assignments/",
        {
            "action": "remove",
            "assignment": assignment,
            "year": term.school_year,
            "term": term.term,
        },
        follow=True,
    ).content.decode()
    assert "已取消该成绩录入权限。" in page
    with school_context(world.a.schema):
        assert TeachingAssignment.objects.filter(pk=assignment).exists() is False
    connection.set_schema_to_public()
