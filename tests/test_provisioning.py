"""Provisioning schools: clone equals migration, retries are safe, suspension closes
the host and keeps the data, and the bureau's API opens a school end to end."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from common.exceptions import ApplicationError
from conftest import World, login
from tenants.models import School
from tenants.services import SchoolInput, school_provision, school_register

STRUCTURE_SQL = {
    "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default
                  FROM information_schema.columns WHERE table_schema = %s""",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
    "constraints": """SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
                      JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s""",
    "migrations": "SELECT app, name FROM {schema}.django_migrations",
    "groups": "SELECT name FROM {schema}.auth_group",
    "triggers": """SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t
                   JOIN pg_class c ON c.oid = t.tgrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = %s AND NOT t.tgisinternal""",
    "functions": """SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
                    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s""",
    "sequences": """SELECT sequence_name FROM information_schema.sequences
                    WHERE sequence_schema = %s""",
}


def _structure(schema: str) -> dict[str, set[tuple[str, ...]]]:
    result = {}
    with connection.cursor() as cursor:
        for name, sql in STRUCTURE_SQL.items():
            if "{schema}" in sql:
                cursor.execute(sql.format(schema=f'"{schema}"'))
            else:
                cursor.execute(sql, [schema])
            rows = {tuple(str(v).replace(schema, "<S>") for v in row) for row in cursor.fetchall()}
            result[name] = rows
    return result


def _register(code: str, slug: str, county: str = "430181") -> int:
    return school_register(
        data=SchoolInput(
            name=f"学校{code}", code=code, slug=slug, county_code=county, stages=["primary"]
        ),
        scope=None,
    ).school_id


def test_cloned_schema_is_identical_to_a_migrated_one(public: None, world: World) -> None:
    # given: school A was provisioned by cloning; a new school is built by migrations
    school_id = _register("2143990101", "migrated")
    school = School.objects.get(pk=school_id)
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        school.create_schema(check_if_exists=False, verbosity=0)
    connection.set_schema_to_public()
    # then
    cloned, migrated = _structure(world.a.schema), _structure(school.schema_name)
    for part in STRUCTURE_SQL:
        assert cloned[part] == migrated[part], part
    assert len(cloned["columns"]) > 50
    assert len(cloned["migrations"]) > 20
    # and nothing in the clone points back at the template
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM information_schema.columns
               WHERE table_schema = %s AND column_default LIKE %s""",
            [world.a.schema, f"%{settings.TENANT_BASE_SCHEMA}%"],
        )
        assert cursor.fetchone()[0] == 0


def test_provisioning_twice_is_harmless(public: None) -> None:
    school_id = _register("2143990102", "twice")
    school_provision(school_id=school_id)
    school_provision(school_id=school_id)
    school = School.objects.get(pk=school_id)
    assert school.provisioning == School.Provisioning.READY
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            [school.schema_name],
        )
        assert cursor.fetchone()[0] == 1


def test_a_half_built_schema_is_rebuilt_on_retry(public: None) -> None:
    # given: a failed attempt left an empty schema behind and the school FAILED
    school_id = _register("2143990103", "retry")
    school = School.objects.get(pk=school_id)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{school.schema_name}"')
    School.objects.filter(pk=school_id).update(provisioning=School.Provisioning.FAILED)
    # when
    school_provision(school_id=school_id)
    # then: the schema is complete
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            [school.schema_name],
        )
        assert cursor.fetchone()[0] >= 10
    assert School.objects.get(pk=school_id).provisioning == School.Provisioning.READY


def test_first_administrator_is_created_with_the_password_shown_once(public: None) -> None:
    from tenants.services import AdminInput

    reg = school_register(
        data=SchoolInput(
            name="新校",
            code="2143990104",
            slug="newadmin",
            county_code="430181",
            stages=["primary"],
        ),
        scope=None,
        admin=AdminInput(username="100001", full_name="新管理员"),
    )
    assert reg.admin_initial_password
    assert len(reg.admin_initial_password) >= 12
    school = School.objects.get(pk=reg.school_id)
    assert reg.admin_initial_password not in str(school.pending_admin)
    school_provision(school_id=reg.school_id)
    assert School.objects.get(pk=reg.school_id).pending_admin is None
    response = Client(HTTP_HOST=reg.host).post(
        "/accounts/login/", {"username": "100001", "password": reg.admin_initial_password}
    )
    assert response.status_code == 302
    connection.set_schema_to_public()


def test_pending_school_host_says_it_is_being_opened(public: None) -> None:
    reg = school_register(
        data=SchoolInput(
            name="开通中学校",
            code="2143990105",
            slug="pending",
            county_code="430181",
            stages=["primary"],
        ),
        scope=None,
    )
    response = Client(HTTP_HOST=reg.host).get("/accounts/login/")
    assert response.status_code == 503
    assert "正在开通" in response.content.decode()


def test_suspended_school_shows_closed_page_and_keeps_data(
    world: World, db: None, bureau_host: str
) -> None:
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    bureau = login(bureau_host, world.bureau_user)
    response = bureau.post(
        f"/api/v1/schools/{world.b.id}/status/",
        {"status": "suspended"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "suspended"
    page = Client(HTTP_HOST=world.b.host).get("/accounts/login/")
    assert page.status_code == 403
    assert "已暂停使用" in page.content.decode()
    with school_context(world.b.schema):
        assert Student.objects.count() == 1
    connection.set_schema_to_public()
    bureau.post(
        f"/api/v1/schools/{world.b.id}/status/",
        {"status": "active"},
        content_type="application/json",
    )
    assert Client(HTTP_HOST=world.b.host).get("/accounts/login/").status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code", "214301696", "学校标识码应为10位数字"),
        ("code", "9943016965", "不是有效的学校类别代码"),
        ("code", "2199016965", "不是有效的省级行政区划代码"),
        ("code", "2144016965", "省份代码（44）与所在县的省份（43）不一致"),
        ("slug", "Bad Slug", "域名前缀只能使用"),
        ("slug", "www", "系统保留"),
        ("county_code", "430100", "不是县级行政区划"),
    ],
)
def test_registration_refuses_bad_input_with_chinese_messages(
    public: None, field: str, value: str, message: str
) -> None:
    data = {
        "name": "坏数据小学",
        "code": "2143990106",
        "slug": "badinput",
        "county_code": "430181",
        "stages": ["primary"],
    }
    data[field] = value
    before = School.objects.count()
    with pytest.raises(ApplicationError) as caught:
        school_register(data=SchoolInput(**data), scope=None)  # type: ignore[arg-type]
    assert message in caught.value.message
    assert School.objects.count() == before


def test_bureau_cannot_open_a_school_outside_its_county(
    world: World, db: None, bureau_host: str
) -> None:
    client = login(bureau_host, world.bureau_user)
    before = School.objects.count()
    response = client.post(
        "/api/v1/schools/",
        {
            "name": "越界小学",
            "code": "2143990107",
            "slug": "outside",
            "county_code": "430182",
            "stages": ["primary"],
            "admin_username": "x1",
            "admin_full_name": "越界",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "该县（市、区）不在您的管辖范围内。"
    connection.set_schema_to_public()
    assert School.objects.count() == before


def test_manage_command_provisions_and_is_repeatable(public: None) -> None:
    args = [
        "provision_school",
        "--code",
        "2143990108",
        "--name",
        "命令小学",
        "--slug",
        "command",
        "--county",
        "430181",
        "--admin-username",
        "200001",
    ]
    call_command(*args)
    call_command(*args)
    school = School.objects.get(code="2143990108")
    assert school.provisioning == School.Provisioning.READY
    assert School.objects.filter(code="2143990108").count() == 1
