"""API tokens (django-rest-knox): they expire, are one per named client, are listed with
the sessions under "我的登录" and revocable there, and end — together with the other
sessions — on a password change, a two-factor change, disabling the account and "sign
out everywhere else". Anonymous API calls answer 401 with the token challenge."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import totp
from conftest import PASSWORD, World, login
from tenants.context import school_context

NEW_PASSWORD = "Brand-New-Passw0rd-1"  # noqa: S105 - test value


@pytest.fixture(autouse=True)
def _db(world: World, db: None) -> Iterator[None]:
    yield
    connection.set_schema_to_public()


def _obtain(host: str, username: str, client: str | None = None, **extra: str) -> dict:
    body = {"username": username, "password": PASSWORD, **extra}
    if client is not None:
        body["client"] = client
    response = Client(HTTP_HOST=host).post(
        "/api/v1/auth/token/", body, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert response.status_code == 200, response.content
    return response.json()


def _with(host: str, token: str) -> Client:
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {token}")


def _me(client: Client) -> int:
    status = client.get("/api/v1/me/").status_code
    connection.set_schema_to_public()
    return status


def _tokens_of(schema: str, username: str) -> list[str]:
    from accounts.models import ApiToken

    with school_context(schema):
        clients = list(
            ApiToken.objects.filter(user__username=username)
            .order_by("client")
            .values_list("client", flat=True)
        )
    connection.set_schema_to_public()
    return clients


def test_a_token_expires_after_the_configured_hours(world: World) -> None:
    from accounts.models import ApiToken

    issued = _obtain(world.a.host, "registrar", "成绩导入脚本")
    expiry = parse_datetime(issued["expiry"])
    assert expiry is not None
    hours = (expiry - timezone.now()).total_seconds() / 3600
    assert settings.API_TOKEN_HOURS - 0.1 < hours <= settings.API_TOKEN_HOURS
    assert issued["client"] == "成绩导入脚本"
    client = _with(world.a.host, issued["token"])
    assert _me(client) == 200
    with school_context(world.a.schema):
        ApiToken.objects.filter(client="成绩导入脚本").update(
            expiry=timezone.now() - timedelta(seconds=1)
        )
    connection.set_schema_to_public()
    expired = client.get("/api/v1/me/")
    connection.set_schema_to_public()
    assert expired.status_code == 401
    assert expired["WWW-Authenticate"] == "Token"
    assert expired.json()["error"] == {
        "code": "authentication_failed",
        "message": "接口令牌无效或已过期，请重新获取。",
    }
    assert _tokens_of(world.a.schema, "registrar") == []  # knox deleted it
    # only the digest is stored, never the token
    with school_context(world.a.schema):
        assert not ApiToken.objects.filter(digest=issued["token"]).exists()
    connection.set_schema_to_public()


def test_one_token_per_named_client_listed_and_revocable(world: World) -> None:
    first = _obtain(world.a.host, "registrar", "导入脚本")
    again = _obtain(world.a.host, "registrar", "导入脚本")
    other = _obtain(world.a.host, "registrar", "统计报表")
    unnamed = _obtain(world.a.host, "registrar")
    # asking again for the same client replaced its token
    assert _me(_with(world.a.host, first["token"])) == 401
    assert _me(_with(world.a.host, again["token"])) == 200
    assert unnamed["client"] == "接口客户端"
    assert _tokens_of(world.a.schema, "registrar") == ["导入脚本", "接口客户端", "统计报表"]

    # listed with the sessions, the calling token marked current
    browser = login(world.a.host, "registrar")
    api = _with(world.a.host, other["token"])
    rows = api.get("/api/v1/me/sessions/").json()
    connection.set_schema_to_public()
    assert sorted((r["kind"], r["client"], r["current"]) for r in rows) == [
        ("session", "", False),
        ("token", "导入脚本", False),
        ("token", "接口客户端", False),
        ("token", "统计报表", True),
    ]
    page = browser.get("/accounts/sessions/").content.decode()
    connection.set_schema_to_public()
    assert "导入脚本" in page
    assert "统计报表" in page
    assert again["token"] not in page  # the token itself is never shown again
    ids = {r["client"]: r["id"] for r in rows if r["kind"] == "token"}
    assert f'action="/accounts/tokens/{ids["导入脚本"]}/revoke/"' in page

    # nobody else revokes them
    teacher = login(world.a.host, "teacher")
    assert teacher.post(f"/api/v1/me/tokens/{ids['导入脚本']}/revoke/").status_code == 404
    connection.set_schema_to_public()
    assert _me(_with(world.a.host, again["token"])) == 200

    # revoked from the page and through the API, each one alone
    page_revoke = browser.post(f"/accounts/tokens/{ids['导入脚本']}/revoke/", follow=True)
    connection.set_schema_to_public()
    assert "已注销该接口令牌。" in page_revoke.content.decode()
    assert _me(_with(world.a.host, again["token"])) == 401
    assert _me(api) == 200
    api_revoke = browser.post(f"/api/v1/me/tokens/{ids['接口客户端']}/revoke/")
    connection.set_schema_to_public()
    assert api_revoke.status_code == 204
    assert _me(_with(world.a.host, unnamed["token"])) == 401
    assert _me(api) == 200
    assert _tokens_of(world.a.schema, "registrar") == ["统计报表"]


def test_clients_per_user_are_limited(world: World) -> None:
    for n in range(settings.API_TOKENS_PER_USER):
        _obtain(world.a.host, "subject", f"客户端{n}")
    refused = Client(HTTP_HOST=world.a.host).post(
        "/api/v1/auth/token/",
        {"username": "subject", "password": PASSWORD, "client": "再多一个"},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "too_many",
        "message": f"每个账号最多可有{settings.API_TOKENS_PER_USER}个接口客户端，"
        "请先在“我的登录”中注销不再使用的客户端。",
    }
    # an existing client still gets a fresh token
    _obtain(world.a.host, "subject", "客户端0")


def test_password_change_revokes_tokens_and_ends_other_sessions(world: World) -> None:
    token = _obtain(world.a.host, "registrar", "脚本")["token"]
    other_browser = login(world.a.host, "registrar")
    browser = login(world.a.host, "registrar")
    changed = browser.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    connection.set_schema_to_public()
    assert changed.status_code == 302
    assert _me(browser) == 200
    assert _me(other_browser) == 401
    assert _me(_with(world.a.host, token)) == 401

    # through the API with a token: that token stays, every other one and every session end
    keep = _obtain(world.a.host, "registrar", "改密脚本", password=NEW_PASSWORD)["token"]
    lose = _obtain(world.a.host, "registrar", "其他脚本", password=NEW_PASSWORD)["token"]
    browser = login(world.a.host, "registrar", NEW_PASSWORD)
    api = _with(world.a.host, keep).post(
        "/api/v1/auth/password/",
        {"old_password": NEW_PASSWORD, "new_password": PASSWORD},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert api.status_code == 204
    assert _me(_with(world.a.host, keep)) == 200
    assert _me(_with(world.a.host, lose)) == 401
    assert _me(browser) == 401


def _enable_totp(client: Client) -> str:
    page = client.get("/accounts/two-factor/").content.decode()
    connection.set_schema_to_public()
    found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert found is not None
    done = client.post(
        "/accounts/two-factor/", {"action": "enable", "code": totp.code_at(found.group(1))}
    )
    connection.set_schema_to_public()
    assert done.status_code == 302
    return found.group(1)


def _forget_used_codes(world: World, username: str, step: int) -> None:
    """Codes are good once per user and step (accounts.login._second_factor): forget
    what earlier tests of the run used for this account, which their rollback keeps."""
    from django.core.cache import cache

    user_id = _tokens_owner_id(world, username)
    with school_context(world.a.schema):
        cache.delete_many([f"totp-used:{user_id}:{s}" for s in range(step - 3, step + 4)])
    connection.set_schema_to_public()


def test_two_factor_changes_revoke_tokens_and_end_sessions_opened_without_it(
    world: World,
) -> None:
    earlier = login(world.a.host, "admin")  # opened before two-factor: no code was asked
    token = _obtain(world.a.host, "admin", "脚本")["token"]
    admin = login(world.a.host, "admin")
    secret = _enable_totp(admin)
    assert _me(admin) == 200  # the session that turned it on stays
    assert _me(earlier) == 401
    assert _me(_with(world.a.host, token)) == 401

    # turning it off ends the others too (a token obtained with the code, here)
    step = totp.step_at() + 1
    _forget_used_codes(world, "admin", step)
    with_code = _obtain(world.a.host, "admin", "脚本", otp=totp.hotp(totp._key(secret), step))
    assert _me(_with(world.a.host, with_code["token"])) == 200
    off = admin.post("/accounts/two-factor/", {"action": "disable", "password": PASSWORD})
    connection.set_schema_to_public()
    assert off.status_code == 302
    assert _me(admin) == 200
    assert _me(_with(world.a.host, with_code["token"])) == 401
    assert _tokens_of(world.a.schema, "admin") == []


def test_disabling_revokes_tokens_and_enabling_brings_none_back(world: World) -> None:
    token = _obtain(world.a.host, "teacher", "脚本")["token"]
    teacher_id = _tokens_owner_id(world, "teacher")
    admin = login(world.a.host, "admin")
    off = admin.post(
        f"/api/v1/users/{teacher_id}/active/", {"active": False}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert off.status_code == 200
    assert _me(_with(world.a.host, token)) == 401
    on = admin.post(
        f"/api/v1/users/{teacher_id}/active/", {"active": True}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert on.status_code == 200
    assert _me(_with(world.a.host, token)) == 401
    assert _tokens_of(world.a.schema, "teacher") == []


def _tokens_owner_id(world: World, username: str) -> int:
    from accounts.models import User

    with school_context(world.a.schema):
        pk = User.objects.get(username=username).pk
    connection.set_schema_to_public()
    return int(pk)


def test_sign_out_everywhere_else_revokes_tokens(world: World) -> None:
    first = _obtain(world.a.host, "approver", "一")["token"]
    second = _obtain(world.a.host, "approver", "二")["token"]
    browser = login(world.a.host, "approver")
    other_browser = login(world.a.host, "approver")
    # through the API with a token: this token stays
    ended = _with(world.a.host, first).post("/api/v1/me/sessions/end-others/")
    connection.set_schema_to_public()
    assert ended.json() == {"ended": 3}
    assert _me(_with(world.a.host, first)) == 200
    assert (_me(_with(world.a.host, second)), _me(browser), _me(other_browser)) == (401,) * 3
    # from the page: every token
    browser = login(world.a.host, "approver")
    page = browser.post("/accounts/sessions/end-others/", follow=True)
    connection.set_schema_to_public()
    assert "已退出其他 1 个会话和接口令牌。" in page.content.decode()
    assert _me(_with(world.a.host, first)) == 401
    assert _me(browser) == 200


def test_a_token_works_on_its_own_host_only(world: World) -> None:
    issued = _obtain(world.a.host, "registrar", "脚本")
    assert _me(_with(world.a.host, issued["token"])) == 200
    for host in (world.b.host, settings.BASE_DOMAIN):
        assert _me(_with(host, issued["token"])) == 401
    malformed = Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION="Token a b").get("/api/v1/me/")
    connection.set_schema_to_public()
    assert malformed.status_code == 401
    assert malformed.json()["error"]["message"] == "接口令牌无效或已过期，请重新获取。"


def test_a_token_is_checked_in_one_query_with_its_users_roles_and_group_rights(
    world: World,
) -> None:
    """The presented token, its user, the user's roles and the rights of the user's
    groups come in one query (ApiTokenAuthentication.authenticate_credentials): no look-up
    of the user's other tokens, and no query for the permission checks that follow. A
    right held only through a user group is honoured on the token path."""
    from django.test.utils import CaptureQueriesContext

    from accounts.authentication import ApiTokenAuthentication
    from accounts.groups import group_create
    from accounts.sessions import api_token_issue
    from accounts.tests.test_user_groups import _actor, _member

    with school_context(world.a.schema):
        pk = _member("tok_grp")
        group_create(name="教务处", rights=["stats.view"], member_ids=[pk], actor=_actor())
        from accounts.models import User

        token = api_token_issue(user=User.objects.get(pk=pk), client="script").token
        auth = ApiTokenAuthentication()
        auth.authenticate_credentials(token.encode())  # first use: records last_used_at
        with CaptureQueriesContext(connection) as queries:
            user, _ = auth.authenticate_credentials(token.encode())
            rights = user.rights
            roles = user.role_codes
    # django-tenants sets the search path before each query; that is not a look-up.
    looked_up = [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]
    assert len(looked_up) == 1, looked_up
    assert rights == {"stats.view"}
    assert roles == frozenset()


def test_an_expired_token_is_deleted_when_presented_and_others_when_one_is_issued(
    world: World,
) -> None:
    from accounts.models import ApiToken, User
    from accounts.sessions import api_token_issue

    with school_context(world.a.schema):
        user = User.objects.get(username="registrar")
        old = api_token_issue(user=user, client="old")
        stale = api_token_issue(user=user, client="stale")
        ApiToken.objects.filter(pk__in=[old.id, stale.id]).update(
            expiry=timezone.now() - timedelta(seconds=1)
        )
    assert _me(_with(world.a.host, old.token)) == 401
    with school_context(world.a.schema):
        assert not ApiToken.objects.filter(pk=old.id).exists(), "deleted when presented"
        assert ApiToken.objects.filter(pk=stale.id).exists(), "not looked up per request"
        api_token_issue(user=user, client="new")
        assert not ApiToken.objects.filter(pk=stale.id).exists(), "deleted at the next issue"
