"""The set-up pages and API on a school's host (issue 13 items 2, 3, 6 and 7): grades,
classes (add, edit, merge, delete, copy) with Chinese messages naming the field, the
start-of-year checklist turning green line by line, and a fresh school's administrator
landing on it."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _post(client, path: str, data: dict | None = None):
    response = client.post(path, data or {})
    connection.set_schema_to_public()
    return response


def _get(client, path: str):
    response = client.get(path, follow=True)
    connection.set_schema_to_public()
    return response


def _json(client, method: str, path: str, body: dict | None = None):
    response = getattr(client, method)(path, body or {}, content_type="application/json")
    connection.set_schema_to_public()
    return response


def test_grades_page_adds_the_intake_and_sets_a_grade_head(world: World) -> None:
    from tenant_apps.registry.classes.services import setup_year
    from tenant_apps.registry.models import Grade

    year = setup_year()
    admin = login(world.a.host, "admin")
    page = _get(admin, "/school/grades/").content.decode()
    assert f"新增小学{year}级" in page
    assert (
        _post(admin, "/school/grades/new/", {"stage": "primary", "intake": "1"}).status_code == 302
    )
    with school_context(world.a.schema):
        grade = Grade.objects.get(stage="primary", entry_year=year)
    _post(admin, f"/school/grades/{grade.pk}/", {"head_username": "teacher", "head_name": ""})
    page = _get(admin, "/school/grades/").content.decode()
    assert "一年级" in page or "即将入学" in page
    assert "测试甲小学teacher（teacher）" in page
    with school_context(world.a.schema):
        assert Grade.objects.get(pk=grade.pk).head_username == "teacher"
    refused = _post(admin, "/school/grades/new/", {"stage": "primary", "entry_year": "1990"})
    assert refused.status_code == 200
    assert "入学年份：1990 年入学的小学年级已毕业，不能新建。" in refused.content.decode()


def test_classes_page_adds_a_class_and_names_the_field_when_wrong(world: World) -> None:
    from tenant_apps.registry.classes.services import grade_add_intake
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        from common.actor import Actor

        grade = grade_add_intake(
            stage="primary", school_stages=["primary"], actor=Actor("admin", "a", "x")
        )
    year = grade.entry_year
    admin = login(world.a.host, "admin")
    bad = _post(
        admin,
        "/school/classes/new/",
        {"grade_id": grade.pk, "class_no": f"{year - 1}101", "teacher_username": "teacher"},
    )
    body = bad.content.decode()
    assert bad.status_code == 200
    assert f"班级编号：前 4 位（入学年份）应为 {year}" in body
    assert f'value="{year - 1}101"' in body  # what was typed stays in the form
    ok = _post(
        admin,
        "/school/classes/new/",
        {"grade_id": grade.pk, "class_no": f"{year}101", "teacher_username": "teacher"},
    )
    assert ok.status_code == 302
    page = _get(admin, "/school/classes/").content.decode()
    assert f"小学{year}级(01)班" in page
    assert "测试甲小学teacher（teacher）" in page
    dup = _post(admin, "/school/classes/new/", {"grade_id": grade.pk, "class_no": f"{year}101"})
    assert f"班级编号：{year}101 已存在" in dup.content.decode()
    with school_context(world.a.schema):
        assert SchoolClass.objects.filter(entry_year=year).count() == 1


def test_class_page_edit_merge_and_delete(world: World) -> None:
    from tenant_apps.registry.models import SchoolClass, Student

    admin = login(world.a.host, "admin")
    with school_context(world.a.schema):
        full = SchoolClass.objects.get(class_no="2024101")
        from tenant_apps.registry.classes.services import class_create

        spare = class_create(stage="primary", entry_year=2024, number=3)
    page = _get(admin, f"/school/classes/{full.pk}/").content.decode()
    assert "合并班级" in page
    assert "小学2024级(03)班" in page
    saved = _post(
        admin, f"/school/classes/{full.pk}/", {"class_type": "12", "teacher_username": "teacher"}
    )
    assert saved.status_code == 302
    with school_context(world.a.schema):
        edited = SchoolClass.objects.get(pk=full.pk)
        assert (edited.class_type, edited.teacher_username) == ("12", "teacher")
    deleted = _post(admin, f"/school/classes/{full.pk}/delete/")
    assert deleted.status_code == 302
    after = _get(admin, "/school/classes/").content.decode()
    assert "还有 1 名学生" in after
    # Merge the full class into the spare one: its student moves and the class goes.
    _post(admin, f"/school/classes/{full.pk}/merge/", {"target_id": spare.pk})
    with school_context(world.a.schema):
        assert not SchoolClass.objects.filter(pk=full.pk).exists()
        assert Student.objects.get(school_class=spare).events.filter(action="合并班级").exists()
    _post(admin, f"/school/classes/{spare.pk}/delete/")
    with school_context(world.a.schema):
        assert SchoolClass.objects.filter(pk=spare.pk).exists()


def test_everyone_sees_the_class_list_only_managers_get_the_forms(world: World) -> None:
    teacher = login(world.a.host, "subject")
    page = _get(teacher, "/school/classes/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "小学2024级(01)班" in body
    assert "新增班级" not in body
    assert _post(teacher, "/school/classes/new/", {"class_no": "2024109"}).status_code == 403


def test_class_api_create_patch_merge_delete_with_field_errors(world: World) -> None:
    from tenant_apps.registry.models import Grade

    with school_context(world.a.schema):
        grade, _ = Grade.objects.get_or_create(stage="primary", entry_year=2024)
    registrar = login(world.a.host, "registrar")
    created = _json(
        registrar,
        "post",
        "/api/v1/classes/",
        {"grade_id": grade.pk, "class_no": "2024104", "teacher_username": "teacher"},
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["name"], data["teacher_username"], data["teacher_name"]) == (
        "小学2024级(04)班",
        "teacher",
        "测试甲小学teacher（teacher）",
    )
    wrong = _json(
        registrar, "post", "/api/v1/classes/", {"grade_id": grade.pk, "class_no": "2024201"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["fields"]["class_no"] == [
        "班级编号：第 5 位（学段）应为 1（小学），与所选年级“小学2024级”一致。"
    ]
    other = _json(
        registrar,
        "patch",
        f"/api/v1/classes/{data['id']}/",
        {"teacher_username": "nobody-here"},
    )
    assert other.status_code == 400
    assert "teacher_username" in other.json()["error"]["fields"]
    merged = _json(
        registrar,
        "post",
        f"/api/v1/classes/{data['id']}/merge/",
        {"target_id": _class_pk(world, "2024101")},
    )
    assert merged.status_code == 200
    gone = _json(registrar, "get", f"/api/v1/classes/{data['id']}/")
    assert gone.status_code == 404
    busy = _json(registrar, "delete", f"/api/v1/classes/{_class_pk(world, '2024101')}/")
    assert busy.status_code == 400
    assert "不能删除" in busy.json()["error"]["message"]


def _class_pk(world: World, class_no: str) -> int:
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        pk = SchoolClass.objects.get(class_no=class_no).pk
    connection.set_schema_to_public()
    return pk


def test_grade_api_adds_the_intake_and_lists_graduated_grades(world: World) -> None:
    from tenant_apps.registry.classes.services import setup_year
    from tenant_apps.registry.models import Grade

    with school_context(world.a.schema):
        Grade.objects.create(stage="primary", entry_year=setup_year() - 7)
    registrar = login(world.a.host, "registrar")
    made = _json(registrar, "post", "/api/v1/school/grades/", {"stage": "primary"})
    assert made.status_code == 201
    assert made.json()["entry_year"] == setup_year()
    rows = _json(registrar, "get", "/api/v1/school/grades/").json()
    assert any(r["graduated"] and r["label"] == "已毕业" for r in rows)
    staff = _json(registrar, "get", "/api/v1/school/staff/").json()
    assert {"username": "teacher", "label": "测试甲小学teacher（teacher）"} in staff


# -- the start-of-year checklist ----------------------------------------------------------


def _lines(client) -> dict[str, bool]:
    response = _json(client, "get", "/api/v1/school/checklist/")
    assert response.status_code == 200
    return {line["key"]: line["done"] for line in response.json()}


def test_the_checklist_turns_green_line_by_line(world: World) -> None:
    from accounts.rights import registrar_appoint
    from common.actor import Actor
    from tenant_apps.grades.models import ClassCourse, Course
    from tenant_apps.grades.services import assignment_set, class_courses_set
    from tenant_apps.grades.terms import current_term
    from tenant_apps.registry.classes import services as classes
    from tenant_apps.registry.models import FieldEditPolicy, SchoolClass
    from tenant_apps.registry.policy.rules import policy_default

    admin = login(world.a.host, "admin")
    with school_context(world.a.schema):
        from accounts.models import User

        User.objects.get(username="registrar").groups.clear()  # no registrar yet
    start = _lines(admin)
    assert start == {
        "info": False,
        "intake": False,
        "teachers": False,
        "registrar": False,
        "courses": False,
        "assignments": False,
        "field_policy": False,
    }
    page = _get(admin, "/school/setup/").content.decode()
    assert "0/7" in page
    assert 'href="/school/info/"' in page
    assert 'href="/accounts/rights/"' in page
    _post(admin, "/school/info/", {"address": "测试路1号"})
    actor = Actor("admin", "管理员", world.a.schema)
    term = current_term()
    with school_context(world.a.schema):
        grade = classes.grade_add_intake(stage="primary", school_stages=["primary"], actor=actor)
        classes.class_add(grade_id=grade.pk, class_no=f"{grade.entry_year}101", actor=actor)
    assert {k for k, v in _lines(admin).items() if v} == {"info", "intake"}
    with school_context(world.a.schema):
        for klass in SchoolClass.objects.all():
            classes.class_update(
                class_id=klass.pk,
                class_type=klass.class_type,
                teacher_username="teacher",
                actor=actor,
            )
        registrar_appoint(user_id=User.objects.get(username="registrar").pk, actor=actor)
        ids = list(SchoolClass.objects.values_list("pk", flat=True))
        maths = Course.objects.get(code="14").pk
        for pk in ids:
            class_courses_set(class_id=pk, course_ids=[maths], term=term, actor=actor)
        assert ClassCourse.objects.filter(school_year=term.school_year).count() == len(ids)
    assert {k for k, v in _lines(admin).items() if not v} == {"assignments", "field_policy"}
    with school_context(world.a.schema):
        assignment_set(
            username="subject", class_ids=ids, course_ids=[maths], term=term, actor=actor
        )
        for stage, year in SchoolClass.objects.values_list("stage", "entry_year").distinct():
            FieldEditPolicy.objects.create(
                stage=stage, entry_year=year, fields=sorted(policy_default(graduating=False))
            )
    assert all(_lines(admin).values())
    assert "7/7" in _get(admin, "/school/setup/").content.decode()


def test_a_fresh_schools_administrator_lands_on_the_checklist(world: World) -> None:
    from tenant_apps.registry.models import SchoolClass, Student

    with school_context(world.c.schema):
        Student.objects.all().delete()
        SchoolClass.objects.all().delete()
    admin = login(world.c.host, "admin")
    home = admin.get("/")
    connection.set_schema_to_public()
    assert (home.status_code, home["Location"]) == (302, "/school/setup/")
    registrar = login(world.c.host, "registrar")
    home = registrar.get("/")
    connection.set_schema_to_public()
    assert home.status_code == 200  # only the administrator is sent there
    # A school with classes opens on its overview as before.
    school_a = login(world.a.host, "admin").get("/")
    connection.set_schema_to_public()
    assert school_a.status_code == 200


def test_a_class_teacher_without_the_role_is_flagged(world: World) -> None:
    """Picked from the list but holding only 全体教师: sees nothing of the class yet."""
    from common.actor import Actor
    from tenant_apps.registry.classes.services import class_update
    from tenant_apps.registry.models import SchoolClass

    with school_context(world.a.schema):
        klass = SchoolClass.objects.get(class_no="2024101")
        class_update(
            class_id=klass.pk,
            class_type="10",
            teacher_username="staff",
            actor=Actor("admin", "a", "x"),
        )
    admin = login(world.a.host, "admin")
    page = _get(admin, "/school/classes/").content.decode()
    assert "无班主任角色" in page
    lines = {line["key"]: line for line in _json(admin, "get", "/api/v1/school/checklist/").json()}
    assert lines["teachers"]["done"] is False
    assert "测试甲小学staff（staff）尚无班主任角色" in lines["teachers"]["detail"]
