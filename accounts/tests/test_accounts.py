"""Login, logout, forced first password change, random one-time passwords, roles."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.roles import PUBLIC_ROLES, ROLE_RIGHTS, SCHOOL_ROLES, Role
from accounts.services import initial_password_generate, user_create
from conftest import World, login
from tenants.context import school_context


def test_every_role_of_the_domain_exists_as_a_group_in_its_schema(world: World, db: None) -> None:
    from django.contrib.auth.models import Group

    connection.set_schema_to_public()
    assert set(Group.objects.values_list("name", flat=True)) == {str(r) for r in PUBLIC_ROLES}
    with school_context(world.a.schema):
        assert set(Group.objects.values_list("name", flat=True)) == {str(r) for r in SCHOOL_ROLES}


def test_all_teachers_group_is_read_only() -> None:
    assert ROLE_RIGHTS[Role.ALL_TEACHERS] == {"school.view"}
    assert all(
        not r.endswith((".edit", ".manage", ".enter")) for r in ROLE_RIGHTS[Role.ALL_TEACHERS]
    )


def test_initial_passwords_are_random_and_strong() -> None:
    seen = {initial_password_generate() for _ in range(200)}
    assert len(seen) == 200
    for password in seen:
        assert len(password) >= 12
        assert re.search(r"[A-Z]", password)
        assert re.search(r"[a-z]", password)
        assert re.search(r"\d", password)


def test_initial_password_is_not_derived_from_an_id_number(world: World, db: None) -> None:
    with school_context(world.a.schema):
        created = user_create(username="330001", full_name="新老师", roles=["class_teacher"])
    connection.set_schema_to_public()
    assert created.initial_password[-6:] != "01001X"
    assert not created.initial_password.isdigit()


def test_first_login_forces_a_password_change(world: World, db: None) -> None:
    with school_context(world.a.schema):
        created = user_create(username="330002", full_name="首次登录", roles=["school_approver"])
    connection.set_schema_to_public()
    client = login(world.a.host, "330002", created.initial_password)
    response = client.get("/registry/students/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/"
    api = client.get("/api/v1/school/")
    assert api.status_code == 403
    assert api.json()["error"]["message"] == "请先修改初始密码。"
    # a weak new password is refused with the reason
    weak = client.post(
        "/accounts/password/",
        {
            "old_password": created.initial_password,
            "new_password": "12345678",
            "new_password_again": "12345678",
        },
    )
    assert weak.status_code == 200
    assert "新密码不符合要求" in weak.content.decode()
    good = client.post(
        "/accounts/password/",
        {
            "old_password": created.initial_password,
            "new_password": "Gugang-2026-registry",
            "new_password_again": "Gugang-2026-registry",
        },
    )
    assert good.status_code == 302
    assert client.get("/registry/students/").status_code == 200
    connection.set_schema_to_public()


def test_wrong_password_says_so_in_chinese(world: World, db: None) -> None:
    response = Client(HTTP_HOST=world.a.host).post(
        "/accounts/login/", {"username": "registrar", "password": "wrong"}
    )
    assert response.status_code == 200
    assert "用户名或密码不正确。" in response.content.decode()


def test_logout_ends_the_session(world: World, db: None) -> None:
    client = login(world.a.host, "registrar")
    assert client.get("/api/v1/me/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/api/v1/me/").status_code == 401


def test_menu_shows_only_what_the_role_may_use(world: World, db: None) -> None:
    subject = login(world.a.host, "subject").get("/").content.decode()
    assert "成绩录入" in subject
    assert "学生名册" not in subject
    assert "用户管理" not in subject
    admin = login(world.a.host, "admin").get("/").content.decode()
    assert "用户管理" in admin
    assert "成绩录入" not in admin
    registrar = login(world.a.host, "registrar").get("/").content.decode()
    for section in ("学校管理", "学籍管理", "数据管理", "查询统计"):
        assert section in registrar
    assert "系统管理" not in registrar


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("subject", "/registry/students/", 403),
        ("staff", "/registry/students/", 403),
        ("teacher", "/accounts/users/", 403),
        ("registrar", "/accounts/users/", 403),
        ("admin", "/accounts/users/", 200),
        ("registrar", "/registry/students/", 200),
        ("subject", "/grades/", 200),
    ],
)
def test_pages_deny_by_default(
    world: World, db: None, username: str, path: str, status: int
) -> None:
    assert login(world.a.host, username).get(path).status_code == status


def test_school_admin_creates_a_user_and_sees_the_password_once(world: World, db: None) -> None:
    client = login(world.a.host, "admin")
    response = client.post(
        "/api/v1/users/",
        {"username": "330003", "full_name": "王老师", "roles": ["class_teacher"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    password = response.json()["initial_password"]
    assert login(world.a.host, "330003", password).get("/api/v1/me/").json()["must_change_password"]
    listed = client.get("/api/v1/users/").json()
    assert all("password" not in u and "md5$" not in str(u) for u in listed)
    # bureau roles cannot be granted inside a school
    refused = client.post(
        "/api/v1/users/",
        {"username": "330004", "full_name": "越权", "roles": ["bureau_approver"]},
        content_type="application/json",
    )
    assert refused.status_code == 400


def test_operator_opens_a_bureau_with_its_first_officer(world: World, db: None) -> None:
    client = login(settings.BASE_DOMAIN, world.operator)
    response = client.post(
        "/api/v1/bureaus/",
        {
            "region_code": "430102",
            "name": "芙蓉区教育局",
            "officer_username": "furong01",
            "officer_name": "芙蓉",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    officer = login(settings.BASE_DOMAIN, "furong01", response.json()["officer_initial_password"])
    me = officer.get("/api/v1/me/").json()
    assert me["region"] == "430102000000"
    assert "bureau.schools.manage" in me["rights"]
    # the officer is not an operator
    assert officer.get("/api/v1/bureaus/").status_code == 403
    assert (
        login(settings.BASE_DOMAIN, world.bureau_user)
        .post("/api/v1/bureaus/", {}, content_type="application/json")
        .status_code
        == 403
    )
