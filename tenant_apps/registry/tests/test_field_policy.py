"""Class scope and the per-grade field-edit policy (domain.md §1.2, §3.17).

Class teachers see and edit only their own classes (others are not found, pages and API
alike), and change only the fields the school opened for the grade: contact fields by
default, household fields closed in graduating grades until the school opens them,
photos and key data never.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from conftest import World, login
from tenant_apps.registry.tests.factories import resident_id, valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _send(client, method: str, path: str, body: dict | None = None):
    response = getattr(client, method)(path, body or {}, content_type="application/json")
    connection.set_schema_to_public()
    return response


def _class(schema: str, entry_year: int, number: int, teacher: str = "") -> int:
    from tenant_apps.registry.models import SchoolClass

    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=entry_year,
            number=number,
            defaults={"class_no": SchoolClass.make_class_no("primary", entry_year, number)},
        )
        klass.teacher_username = teacher
        klass.save()
    connection.set_schema_to_public()
    return klass.pk


def _row_for(seq: int, entry_year: int, number: int = 1) -> dict[str, object]:
    """valid_row moved to another intake year: birth date, ID number, class, grade."""
    row = valid_row(seq=seq)
    shift = 2024 - entry_year
    birth = dt.date(2017 - shift, 9, 1) + dt.timedelta(days=seq % 365)
    male = seq % 2 == 0
    row.update(
        birth_date=f"{birth:%Y%m%d}",
        id_number=resident_id(birth, 1 if male else 0),
        id_validity="",
        class_no=f"{entry_year}1{number:02d}",
        entry_year_month=f"{entry_year}09",
        grade=f"小学{entry_year}级",
    )
    return row


def _register(world: World, row: dict[str, object]) -> str:
    response = _send(login(world.a.host, "registrar"), "post", "/api/v1/students/", row)
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def _raw(world: World, identifier: str, **changes: str) -> dict[str, Any]:
    """The student's current record as form strings, with `changes` applied."""
    from tenant_apps.registry.students.forms import student_raw
    from tenant_apps.registry.students.selectors import student_get
    from tenant_apps.registry.students.services import student_snapshot

    with school_context(world.a.schema):
        student = student_get(identifier=identifier)
        assert student is not None
        raw = student_raw(student, student_snapshot(student))
    connection.set_schema_to_public()
    return raw | changes


def _value(world: World, identifier: str, key: str) -> object:
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        value = getattr(Student.objects.get(identifier=identifier), key)
    connection.set_schema_to_public()
    return value


@pytest.fixture
def two_classes(world: World) -> dict[str, str]:
    """Class 2024101 taught by `teacher` and class 2024102 taught by nobody, one
    registered pupil in each."""
    _class(world.a.schema, 2024, 1, teacher="teacher")
    _class(world.a.schema, 2024, 2)
    own = _register(world, valid_row(seq=401))
    other = _register(world, valid_row(seq=403, class_no="2024102"))
    return {"own": own, "other": other}


def test_class_teacher_sees_only_own_class(world: World, two_classes: dict[str, str]) -> None:
    own_name, other_name = valid_row(seq=401)["name"], valid_row(seq=403)["name"]
    teacher = login(world.a.host, "teacher")
    page = teacher.get("/registry/students/").content.decode()
    assert own_name in page
    assert other_name not in page
    assert "2024102" not in page
    assert "(02)班" not in page
    # the other class stays hidden when asked for explicitly
    other_class = _class(world.a.schema, 2024, 2)
    page = teacher.get(f"/registry/students/?class_id={other_class}").content.decode()
    assert other_name not in page
    # detail, reveal and edit of the other class's pupil are not found
    assert teacher.get(f"/registry/students/{two_classes['own']}/").status_code == 200
    assert teacher.get(f"/registry/students/{two_classes['other']}/").status_code == 404
    assert teacher.post(f"/registry/students/{two_classes['other']}/reveal/").status_code == 404
    assert teacher.get(f"/registry/students/{two_classes['other']}/edit/").status_code == 404
    # the API agrees
    listed = _send(teacher, "get", "/api/v1/students/").json()["results"]
    assert {s["id"] for s in listed} >= {two_classes["own"]}
    assert two_classes["other"] not in {s["id"] for s in listed}
    assert {s["class_no"] for s in listed} == {"2024101"}
    assert _send(teacher, "get", f"/api/v1/students/{two_classes['other']}/").status_code == 404
    put = _send(
        teacher,
        "put",
        f"/api/v1/students/{two_classes['other']}/",
        _raw(world, two_classes["other"]),
    )
    assert put.status_code == 404
    # the registrar still sees the whole school
    registrar = login(world.a.host, "registrar")
    assert registrar.get(f"/registry/students/{two_classes['other']}/").status_code == 200


def test_class_right_grants_reading_another_class_but_not_writing(
    world: World, two_classes: dict[str, str]
) -> None:
    from tenant_apps.registry.models import ClassRight

    other_class = _class(world.a.schema, 2024, 2)
    with school_context(world.a.schema):
        ClassRight.objects.create(user_username="teacher", school_class_id=other_class)
    connection.set_schema_to_public()
    teacher = login(world.a.host, "teacher")
    detail = teacher.get(f"/registry/students/{two_classes['other']}/")
    assert detail.status_code == 200
    assert f"/registry/students/{two_classes['other']}/edit/" not in detail.content.decode()
    assert teacher.get(f"/registry/students/{two_classes['other']}/edit/").status_code == 403
    body = _raw(world, two_classes["other"], phone="13912345678")
    put = _send(teacher, "put", f"/api/v1/students/{two_classes['other']}/", body)
    assert put.status_code == 403


def test_class_teacher_edits_an_open_field_and_is_refused_a_closed_one(
    world: World, two_classes: dict[str, str]
) -> None:
    sid = two_classes["own"]
    teacher = login(world.a.host, "teacher")
    ok = _send(teacher, "put", f"/api/v1/students/{sid}/", _raw(world, sid, phone="13912345678"))
    assert ok.status_code == 200, ok.content
    assert _value(world, sid, "phone") == "13912345678"
    # household fields of a non-graduating grade are open by default
    ok = _send(teacher, "put", f"/api/v1/students/{sid}/", _raw(world, sid, household_type="2"))
    assert ok.status_code == 200, ok.content
    # ethnicity and the name are not open: the whole edit is refused, naming both
    refused = _send(
        teacher,
        "put",
        f"/api/v1/students/{sid}/",
        _raw(world, sid, phone="13800000000", ethnicity="03", name="改名字"),
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "permission_denied"
    assert error["message"] == "您无权修改以下字段：姓名、民族。"
    assert set(error["fields"]) == {"name", "ethnicity"}
    assert _value(world, sid, "phone") == "13912345678"
    assert _value(world, sid, "ethnicity") == "01"
    # the registrar (维护学籍) may change any field
    registrar = login(world.a.host, "registrar")
    ok = _send(registrar, "put", f"/api/v1/students/{sid}/", _raw(world, sid, ethnicity="03"))
    assert ok.status_code == 200, ok.content


def test_edit_page_shows_closed_fields_read_only(world: World, two_classes: dict[str, str]) -> None:
    sid = two_classes["own"]
    teacher = login(world.a.host, "teacher")
    page = teacher.get(f"/registry/students/{sid}/edit/").content.decode()
    assert 'name="phone"' in page
    assert 'name="ethnicity"' in page
    assert "不能修改" in page

    def disabled(name: str) -> bool:
        start = page.index(f'name="{name}"')
        tag = page[page.rindex("<", 0, start) : page.index(">", start)]
        return "disabled" in tag

    assert not disabled("phone")
    assert not disabled("household_region")
    assert disabled("ethnicity")
    assert disabled("name")
    assert disabled("id_number")
    # posting the form: the open field is saved, a forged closed value is ignored
    form = _raw(world, sid, phone="13700001111", ethnicity="03")
    response = teacher.post(f"/registry/students/{sid}/edit/", form)
    connection.set_schema_to_public()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _value(world, sid, "phone") == "13700001111"
    assert _value(world, sid, "ethnicity") == "01"
    # the registrar's form has no read-only fields
    registrar_page = login(world.a.host, "registrar").get(f"/registry/students/{sid}/edit/")
    assert "disabled" not in registrar_page.content.decode().split("student-form", 1)[1]


def test_graduating_household_fields_are_closed_until_the_school_opens_them(
    world: World,
) -> None:
    from tenant_apps.registry.policy.rules import HOUSEHOLD_FIELDS, policy_fields, school_year

    year = school_year() - 5  # 小学六年级 this school year
    _class(world.a.schema, year, 1, teacher="teacher")
    sid = _register(world, _row_for(411, year))
    with school_context(world.a.schema):
        assert not HOUSEHOLD_FIELDS & policy_fields(
            stage="primary", entry_year=year, graduating=True
        )
        assert (
            policy_fields(stage="primary", entry_year=year + 1, graduating=False)
            >= HOUSEHOLD_FIELDS
        )
    connection.set_schema_to_public()
    teacher = login(world.a.host, "teacher")
    body = _raw(world, sid, household_type="2")
    refused = _send(teacher, "put", f"/api/v1/students/{sid}/", body)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "您无权修改以下字段：户口性质。"
    # the settings page warns and leaves the graduating grade's household boxes unchecked
    admin = login(world.a.host, "admin")
    page = admin.get("/registry/settings/fields/").content.decode()
    assert "毕业年级户籍信息请审慎授权" in page
    key = f"primary:{year}"
    assert f'name="f:{key}" value="household_type" checked' not in page
    assert f'name="f:{key}" value="phone" checked' in page
    # the school opens household fields for the graduating grade explicitly
    saved = admin.post(
        "/registry/settings/fields/",
        {"grades": [key], f"f:{key}": ["phone", "household_type", "household_region"]},
    )
    connection.set_schema_to_public()
    assert saved.status_code == 302
    ok = _send(teacher, "put", f"/api/v1/students/{sid}/", body)
    assert ok.status_code == 200, ok.content
    assert _value(world, sid, "household_type") == "2"
    # and closes the address it did not list
    refused = _send(
        teacher, "put", f"/api/v1/students/{sid}/", _raw(world, sid, home_address="新地址1号")
    )
    assert refused.json()["error"]["message"] == "您无权修改以下字段：家庭地址。"


def test_policy_never_opens_photo_or_key_fields(world: World) -> None:
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from tenant_apps.registry.policy.rules import NEVER, policy_fields, policy_set

    actor = Actor("admin", "管理员", world.a.schema)
    assert "photo" in NEVER
    with school_context(world.a.schema):
        for forbidden in (["photo"], ["id_number"], ["name", "phone"]):
            with pytest.raises(ApplicationError):
                policy_set(stage="primary", entry_year=2024, fields=forbidden, actor=actor)
        policy_set(stage="primary", entry_year=2024, fields=["phone"], actor=actor)
        assert policy_fields(stage="primary", entry_year=2024, graduating=False) == {"phone"}


def test_household_opened_before_graduation_closes_in_the_graduating_year(
    world: World,
) -> None:
    from tenant_apps.registry.models import FieldEditPolicy
    from tenant_apps.registry.policy.rules import graduation_year_start, policy_fields, school_year

    year = school_year() - 5
    with school_context(world.a.schema):
        FieldEditPolicy.objects.create(
            stage="primary", entry_year=year, fields=["phone", "household_region"]
        )
        before = graduation_year_start("primary", year) - dt.timedelta(days=30)
        FieldEditPolicy.objects.filter(entry_year=year).update(updated_at=before)
        assert policy_fields(stage="primary", entry_year=year, graduating=True) == {"phone"}


def test_settings_page_is_for_the_school_administrator(world: World) -> None:
    assert login(world.a.host, "admin").get("/registry/settings/fields/").status_code == 200
    for username in ("registrar", "teacher", "principal"):
        assert login(world.a.host, username).get("/registry/settings/fields/").status_code == 403
