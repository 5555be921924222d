"""The school's own profile (issue 13 item 1): the school administrator edits it on the
school host (page and API), each save is audited with before/after under Chinese labels,
the bureau reads the current values, and name, code, stages and county stay the bureau's."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _actor(schema: str):
    from common.actor import Actor

    return Actor("admin", "管理员甲", schema)


def _last_school_entry(schema: str):
    from accounts.models import AuditEntry

    with school_context(schema):
        return AuditEntry.objects.filter(object_type="school").order_by("-id").first()


def test_profile_update_writes_the_public_row_campuses_and_one_audit_entry(
    world: World,
) -> None:
    from tenants.models import School
    from tenants.profile import CampusInput, ProfileInput, school_profile_update

    with school_context(world.a.schema):
        school_profile_update(
            school_id=world.a.id,
            data=ProfileInput(
                address="湖南省浏阳市古港镇 梅田路 1 号",
                location_code="４３０１８１１０８０００",
                postcode="410300",
                principal="陈校长",
                phone="0731-83000000",
                school_type="211",
                sponsor="41",
                intro="百年老校。",
                campuses=(
                    CampusInput(name="东校区", address="东路1号", phone="0731-83000001"),
                    CampusInput(name="", address="", phone=""),  # an empty form row
                ),
            ),
            actor=_actor(world.a.schema),
        )
    connection.set_schema_to_public()
    school = School.objects.get(pk=world.a.id)
    assert (
        school.address,
        school.location_code,
        school.school_type,
        school.get_sponsor_display(),
    ) == ("湖南省浏阳市古港镇 梅田路 1 号", "430181108000", "211", "县级教育部门")
    assert [(c.name, c.address, c.phone) for c in school.campuses.all()] == [
        ("东校区", "东路1号", "0731-83000001")
    ]
    assert school.profile_reviewed_by == "管理员甲（admin）"
    entry = _last_school_entry(world.a.schema)
    assert entry is not None
    assert (entry.action, entry.username, entry.object_id) == ("write", "admin", str(world.a.id))
    assert entry.before == {
        "地址": "",
        "所在地行政区划代码": "",
        "邮政编码": "",
        "校长": "",
        "联系电话": "",
        "办学类型": "",
        "举办者": "",
        "学校简介": "",
        "校区": "",
    }
    assert entry.after["办学类型"] == "小学"
    assert entry.after["举办者"] == "县级教育部门"
    assert entry.after["校区"] == "东校区（东路1号，0731-83000001）"
    # Nothing is written in another school's log.
    assert _last_school_entry(world.b.schema) is None


def test_a_second_save_audits_only_what_changed_and_confirms_the_review(world: World) -> None:
    from tenants.models import School
    from tenants.profile import ProfileInput, school_profile_update

    with school_context(world.a.schema):
        school_profile_update(
            school_id=world.a.id, data=ProfileInput(phone="0731-1234567"), actor=_actor("x")
        )
        first = School.objects.get(pk=world.a.id).profile_reviewed_at
        school_profile_update(
            school_id=world.a.id,
            data=ProfileInput(phone="0731-1234567", principal="李校长"),
            actor=_actor("x"),
        )
        entry = _last_school_entry(world.a.schema)
        assert (entry.before, entry.after) == ({"校长": ""}, {"校长": "李校长"})
        school_profile_update(
            school_id=world.a.id,
            data=ProfileInput(phone="0731-1234567", principal="李校长"),
            actor=_actor("x"),
        )
        entry = _last_school_entry(world.a.schema)
        assert (entry.before, entry.after) == ({}, {})
        assert "核对无误" in entry.object_repr
        assert School.objects.get(pk=world.a.id).profile_reviewed_at > first


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("postcode", "41030", "邮政编码：应为 6 位数字"),
        ("phone", "电话", "联系电话"),
        ("location_code", "430182001000", "不在本校所在县"),
        ("location_code", "4301811", "所在地行政区划代码"),
        ("school_type", "999", "办学类型"),
        ("sponsor", "xx", "举办者"),
        ("email", "not-an-email", "电子信箱"),
        ("website", "javascript:alert(1)", "学校网址"),
        ("principal", "校" * 51, "校长：不能超过 50 个字"),
    ],
    ids=[
        "postcode",
        "phone",
        "location_outside_county",
        "location_format",
        "school_type",
        "sponsor",
        "email",
        "website_scheme",
        "principal_length",
    ],
)
def test_bad_profile_input_names_the_field_and_changes_nothing(
    world: World, field: str, value: str, needle: str
) -> None:
    from common.exceptions import ApplicationError
    from tenants.models import School
    from tenants.profile import ProfileInput, school_profile_update

    before = School.objects.filter(pk=world.a.id).values().get()
    with school_context(world.a.schema), pytest.raises(ApplicationError) as caught:
        school_profile_update(
            school_id=world.a.id,
            data=ProfileInput(**{field: value}),  # type: ignore[arg-type]
            actor=_actor("x"),
        )
    assert needle in caught.value.extra[field][0]
    connection.set_schema_to_public()
    assert School.objects.filter(pk=world.a.id).values().get() == before
    assert _last_school_entry(world.a.schema) is None


def test_duplicate_or_nameless_campuses_are_refused(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenants.profile import CampusInput, ProfileInput, school_profile_update

    for campuses, needle in (
        ((CampusInput(name="东校区"), CampusInput(name="东校区")), "校区名称“东校区”重复"),
        ((CampusInput(name="", address="西路2号"),), "第1个校区请填写校区名称"),
    ):
        with school_context(world.a.schema), pytest.raises(ApplicationError) as caught:
            school_profile_update(
                school_id=world.a.id, data=ProfileInput(campuses=campuses), actor=_actor("x")
            )
        assert needle in caught.value.extra["campuses"][0]


def test_the_page_saves_the_profile_and_the_bureau_sees_it(world: World, bureau_host) -> None:
    admin = login(world.a.host, "admin")
    page = admin.get("/school/info/")
    connection.set_schema_to_public()
    body = page.content.decode()
    assert page.status_code == 200
    assert world.a.code in body
    assert "学校简介" in body
    # The bureau's fields are not inputs on the page.
    assert 'name="name"' not in body
    assert 'name="code"' not in body
    response = admin.post(
        "/school/info/",
        {
            "address": "测试路8号",
            "principal": "王校长",
            "school_type": "218",
            "sponsor": "41",
            "intro": "山区教学点。",
            "campus_name": ["北校区", ""],
            "campus_address": ["北路3号", ""],
            "campus_phone": ["", ""],
            # The bureau's fields sent anyway are ignored.
            "name": "改名小学",
            "code": "2143999999",
        },
    )
    connection.set_schema_to_public()
    assert response.status_code == 302
    officer = login(bureau_host, world.bureau_user)
    detail = officer.get(f"/bureau/schools/{world.a.id}/").content.decode()
    api = officer.get(f"/api/v1/schools/{world.a.id}/").json()
    connection.set_schema_to_public()
    assert "测试路8号" in detail
    assert "小学教学点" in detail
    assert "北校区" in detail
    assert world.a.name in detail
    assert "改名小学" not in detail
    assert (api["name"], api["code"], api["principal"], api["school_type"]) == (
        world.a.name,
        world.a.code,
        "王校长",
        "小学教学点",
    )
    assert api["campuses"] == [{"name": "北校区", "address": "北路3号", "phone": ""}]


def test_the_page_shows_the_error_next_to_the_field(world: World) -> None:
    admin = login(world.a.host, "admin")
    response = admin.post("/school/info/", {"postcode": "abc", "campus_name": [""]})
    connection.set_schema_to_public()
    body = response.content.decode()
    assert response.status_code == 200
    assert "邮政编码：应为 6 位数字。" in body
    assert 'value="abc"' in body


def test_the_api_patches_the_profile_and_refuses_bureau_fields_for_others(world: World) -> None:
    admin = login(world.a.host, "admin")
    response = admin.patch(
        "/api/v1/school/",
        {"postcode": "410300", "campuses": [{"name": "本部"}]},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["postcode"], data["campuses"], data["name"]) == (
        "410300",
        [{"name": "本部", "address": "", "phone": ""}],
        world.a.name,
    )
    bad = admin.patch("/api/v1/school/", {"postcode": "1"}, content_type="application/json")
    connection.set_schema_to_public()
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["postcode"] == ["邮政编码：应为 6 位数字。"]
    registrar = login(world.a.host, "registrar")
    refused = registrar.patch(
        "/api/v1/school/", {"postcode": "410301"}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert refused.status_code == 403
