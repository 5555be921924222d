"""重置密码 by the school administrator (issue 13): a new one-time password shown once,
to be changed at the next sign-in; every session and API token of the account ends; the
reset is audited without the password; one's own account and other schools' accounts
are refused (a forged id is 404)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from conftest import PASSWORD, World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _user(schema: str, username: str):
    from accounts.models import User

    with school_context(schema):
        return User.objects.get(username=username)


def _token(host: str, username: str) -> str:
    response = Client(HTTP_HOST=host).post(
        "/api/v1/auth/token/",
        {"username": username, "password": PASSWORD},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def test_the_service_sets_a_one_time_password_and_ends_sessions_and_tokens(
    world: World,
) -> None:
    from accounts.models import ApiToken, AuditEntry, User, UserSession
    from accounts.services import user_password_reset

    # given: the teacher is signed in in a browser and holds an API token
    browser = login(world.a.host, "teacher")
    _token(world.a.host, "teacher")
    with school_context(world.a.schema):
        teacher = User.objects.get(username="teacher")
        assert UserSession.objects.filter(user=teacher).exists()
        assert ApiToken.objects.filter(user=teacher).exists()
        admin = User.objects.get(username="admin")

        # when
        reset = user_password_reset(user=teacher, actor=admin)

        # then
        teacher.refresh_from_db()
        assert reset.username == "teacher"
        assert teacher.check_password(reset.initial_password)
        assert teacher.check_password(PASSWORD) is False
        assert teacher.must_change_password is True
        assert UserSession.objects.filter(user=teacher).exists() is False
        assert ApiToken.objects.filter(user=teacher).exists() is False
        assert reset.ended >= 2
        entry = AuditEntry.objects.filter(object_type="user", object_id=str(teacher.pk)).latest(
            "pk"
        )
        assert entry.username == "admin"
        assert entry.after["password"] == "reset"
        assert reset.initial_password not in str(entry.after) + str(entry.before)
    connection.set_schema_to_public()
    signed_out = browser.get("/accounts/sessions/")
    assert signed_out.status_code == 302
    assert "/accounts/login/" in signed_out["Location"]
    connection.set_schema_to_public()


def test_the_service_refuses_ones_own_account(world: World) -> None:
    from accounts.models import User
    from accounts.services import user_password_reset
    from common.exceptions import ApplicationError

    with school_context(world.a.schema):
        admin = User.objects.get(username="admin")
        with pytest.raises(ApplicationError) as refused:
            user_password_reset(user=admin, actor=admin)
        assert refused.value.message == "不能这样重置自己的密码，请使用“修改密码”。"
        admin.refresh_from_db()
        assert admin.check_password(PASSWORD)
    connection.set_schema_to_public()


def test_the_page_confirms_then_shows_the_password_once(world: World) -> None:
    admin = login(world.a.host, "admin")
    target = _user(world.a.schema, "staff")
    path = f"/accounts/users/{target.pk}/password-reset/"

    # the user list and the confirmation page offer it
    listing = admin.get("/accounts/users/").content.decode()
    connection.set_schema_to_public()
    assert f'href="{path}"' in listing
    asked = admin.get(path)
    connection.set_schema_to_public()
    assert asked.status_code == 200
    assert 'name="confirm" value="1"' in asked.content.decode()
    # without the confirmation nothing happens
    unconfirmed = admin.post(path, {})
    connection.set_schema_to_public()
    assert "请确认重置该账号的密码。" in unconfirmed.content.decode()
    assert _user(world.a.schema, "staff").check_password(PASSWORD)

    done = admin.post(path, {"confirm": "1"})
    connection.set_schema_to_public()
    assert done.status_code == 200
    assert done["Cache-Control"] == "no-store"
    password = done.content.decode().split('<code class="secret">')[1].split("</code>")[0]
    assert _user(world.a.schema, "staff").check_password(password)
    # shown once: the page afterwards is the confirmation again, without it
    later = admin.get(path).content.decode()
    connection.set_schema_to_public()
    assert password not in later
    login(world.a.host, "staff", password)


def test_the_page_refuses_ones_own_account_and_points_to_password_change(world: World) -> None:
    admin = login(world.a.host, "admin")
    me = _user(world.a.schema, "admin")
    path = f"/accounts/users/{me.pk}/password-reset/"
    page = admin.get(path).content.decode()
    connection.set_schema_to_public()
    assert 'name="confirm"' not in page
    assert 'href="/accounts/password/"' in page
    refused = admin.post(path, {"confirm": "1"})
    connection.set_schema_to_public()
    assert "不能这样重置自己的密码" in refused.content.decode()
    assert _user(world.a.schema, "admin").check_password(PASSWORD)


def test_the_api_resets_and_answers_the_password_once(world: World) -> None:
    admin = login(world.a.host, "admin")
    target = _user(world.a.schema, "subject")
    path = f"/api/v1/users/{target.pk}/password-reset/"
    unconfirmed = admin.post(path, {"confirm": False}, content_type="application/json")
    connection.set_schema_to_public()
    assert unconfirmed.status_code == 400
    answer = admin.post(path, {"confirm": True}, content_type="application/json")
    connection.set_schema_to_public()
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["username"] == "subject"
    assert _user(world.a.schema, "subject").check_password(body["initial_password"])
    me = _user(world.a.schema, "admin")
    own = admin.post(
        f"/api/v1/users/{me.pk}/password-reset/", {"confirm": True}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert own.status_code == 400
    assert _user(world.a.schema, "admin").check_password(PASSWORD)


def test_an_account_of_another_school_is_not_found(world: World) -> None:
    """A forged id: an account that exists only in school B is 404 on A's host, on the
    page and the API, and B's account keeps its password."""
    from accounts.models import User

    with school_context(world.b.schema):
        foreign = User.objects.create(username="b_only", full_name="乙校账号", pk=987654)
        foreign.set_password(PASSWORD)
        foreign.save()
    with school_context(world.a.schema):
        assert User.objects.filter(pk=987654).exists() is False
    connection.set_schema_to_public()
    admin = login(world.a.host, "admin")
    page = admin.post("/accounts/users/987654/password-reset/", {"confirm": "1"})
    connection.set_schema_to_public()
    api = admin.post(
        "/api/v1/users/987654/password-reset/", {"confirm": True}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert (page.status_code, api.status_code) == (404, 404)
    assert _user(world.b.schema, "b_only").check_password(PASSWORD)


def test_the_teacher_list_offers_the_reset_to_the_administrator_only(world: World) -> None:
    """A teacher linked to an account shows 重置密码 to whoever may reset (用户管理),
    not to the registrar, who manages teachers but not accounts."""
    from common.actor import Actor
    from tenant_apps.registry.teachers.services import teacher_create

    with school_context(world.a.schema):
        teacher_create(
            data={"staff_no": "staff", "name": "全体老师", "sex": "1"},
            actor=Actor("admin", "管理员", world.a.schema),
        )
    connection.set_schema_to_public()
    path = f"/accounts/users/{_user(world.a.schema, 'staff').pk}/password-reset/"
    for username, shown in (("admin", True), ("registrar", False)):
        page = login(world.a.host, username).get("/school/teachers/").content.decode()
        connection.set_schema_to_public()
        assert (path in page) is shown, username
