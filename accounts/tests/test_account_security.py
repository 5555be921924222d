"""Account security: password policy, lockout after repeated failures and unlocking,
enabled/disabled accounts, "我的登录" sessions, idle timeout, step-up re-authentication
for sensitive actions, and the optional TOTP second factor."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import totp
from accounts.middleware import ACTIVITY_KEY, LOGIN_AT_KEY
from accounts.reauth import REAUTH_FIELD, REAUTH_SESSION_KEY
from conftest import PASSWORD, World, login
from tenants.context import school_context

WRONG = "Wrong-Passw0rd-000"
INVALID = "用户名或密码不正确。"
REAUTH_MESSAGE = "此操作需要再次输入密码确认。"


@pytest.fixture(autouse=True)
def _db(world: World, db: None) -> Iterator[None]:
    yield
    connection.set_schema_to_public()


def _user(schema: str, username: str):
    from accounts.models import User

    with school_context(schema):
        user = User.objects.get(username=username)
    connection.set_schema_to_public()
    return user


def _locked_message(schema: str, username: str) -> str:
    until = _user(schema, username).locked_until
    assert until is not None
    hhmm = timezone.localtime(until).strftime("%H:%M")
    return f"账号因多次密码错误已锁定，请于{hhmm}后再试或联系管理员解锁。"


def _page_login(host: str, username: str, password: str, **extra: str) -> tuple[Client, object]:
    client = Client(HTTP_HOST=host, **extra)  # type: ignore[arg-type]
    response = client.post("/accounts/login/", {"username": username, "password": password})
    connection.set_schema_to_public()
    return client, response


def _login_error(response) -> str:
    """The error shown above the login form (or the code form)."""
    assert response.status_code == 200
    found = re.findall(r'<div class="flash error">([^<]*)</div>', response.content.decode())
    assert found, "no error shown"
    return found[0].strip()


def _token(host: str, username: str, password: str, **extra: str):
    response = Client(HTTP_HOST=host).post(
        "/api/v1/auth/token/",
        {"username": username, "password": password, **extra},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    return response


def _session_set(client: Client, schema: str, **values: int) -> None:
    """Change values in the client's server-side session (timestamps in the past)."""
    with school_context(schema) if schema != "public" else _public():
        session = client.session
        for key, value in values.items():
            session[key] = value
        session.save()
    connection.set_schema_to_public()


class _public:
    def __enter__(self) -> None:
        connection.set_schema_to_public()

    def __exit__(self, *exc: object) -> None:
        connection.set_schema_to_public()


# -- password policy ------------------------------------------------------------------


def test_password_policy_needs_three_character_classes(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_password("lowercase-only-words")
    assert "密码须至少包含大写字母、小写字母、数字、符号中的3类。" in refused.value.messages
    validate_password("Lowercase-and-Upper")  # upper, lower, symbol: three classes
    validate_password("Schoolyard2026x")  # upper, lower, digit
    with pytest.raises(ValidationError) as short:
        validate_password("Ab1-short")
    assert len(short.value.messages) == 1  # too short, classes fine

    client = login(world.a.host, "teacher")
    response = client.post(
        "/api/v1/auth/password/",
        {"old_password": PASSWORD, "new_password": "lowercase-only-words"},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["new_password"] == [
        "密码须至少包含大写字母、小写字母、数字、符号中的3类。"
    ]
    page = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password": "lowercase-only-words",
            "new_password_again": "lowercase-only-words",
        },
    )
    connection.set_schema_to_public()
    assert page.status_code == 200
    assert "密码须至少包含大写字母、小写字母、数字、符号中的3类。" in page.content.decode()


# -- lockout --------------------------------------------------------------------------


def test_brute_force_on_the_login_page_is_locked_out(world: World) -> None:
    for attempt in range(1, settings.LOGIN_MAX_FAILURES):
        _client, response = _page_login(world.a.host, "registrar", WRONG)
        assert _login_error(response) == INVALID, attempt
    _client, fifth = _page_login(world.a.host, "registrar", WRONG)
    locked = _locked_message(world.a.schema, "registrar")
    assert _login_error(fifth) == locked
    # the right password is refused while the lock lasts
    client, right = _page_login(world.a.host, "registrar", PASSWORD)
    assert _login_error(right) == locked
    assert client.get("/api/v1/me/").status_code == 401
    user = _user(world.a.schema, "registrar")
    lock_minutes = (user.locked_until - timezone.now()).total_seconds() / 60
    assert settings.LOGIN_LOCK_MINUTES - 1 < lock_minutes <= settings.LOGIN_LOCK_MINUTES
    # the token API refuses as well
    token = _token(world.a.host, "registrar", PASSWORD)
    assert token.status_code == 400
    assert token.json()["error"] == {"code": "account_locked", "message": locked}


def test_brute_force_on_the_token_api_is_locked_out(world: World) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        response = _token(world.a.host, "approver", WRONG)
        assert response.status_code == 400
        assert response.json()["error"] == {"code": "authentication_failed", "message": INVALID}
    fifth = _token(world.a.host, "approver", WRONG)
    locked = _locked_message(world.a.schema, "approver")
    assert fifth.status_code == 400
    assert fifth.json()["error"] == {"code": "account_locked", "message": locked}
    right = _token(world.a.host, "approver", PASSWORD)
    assert right.status_code == 400
    assert right.json()["error"] == {"code": "account_locked", "message": locked}
    _client, page = _page_login(world.a.host, "approver", PASSWORD)
    assert _login_error(page) == locked


def test_a_success_resets_the_failure_count(world: World) -> None:
    for _round in range(3):
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            _page_login(world.a.host, "principal", WRONG)
        assert _user(world.a.schema, "principal").failed_logins == settings.LOGIN_MAX_FAILURES - 1
        _client, response = _page_login(world.a.host, "principal", PASSWORD)
        assert response.status_code == 302  # type: ignore[attr-defined]
        user = _user(world.a.schema, "principal")
        assert (user.failed_logins, user.locked_until) == (0, None)


def test_unknown_usernames_answer_and_lock_like_accounts(world: World) -> None:
    """A name that is no account gets the wrong-password answer, and after
    LOGIN_MAX_FAILURES tries the same lock message as an account: the answers never tell
    which names exist, and guessing over unknown names is slowed down the same way."""
    from accounts.login import unknown_locked_until
    from accounts.models import User

    empty = Client(HTTP_HOST=world.a.host).post("/accounts/login/", {})
    connection.set_schema_to_public()
    assert _login_error(empty) == "请输入用户名和密码。"
    for attempt in range(1, settings.LOGIN_MAX_FAILURES):
        _client, response = _page_login(world.a.host, "nobody-here", WRONG)
        assert _login_error(response) == INVALID, attempt
    fifth = _token(world.a.host, "nobody-here", WRONG)
    with school_context(world.a.schema):
        until = unknown_locked_until("nobody-here")
        assert not User.objects.filter(username="nobody-here").exists()
    connection.set_schema_to_public()
    assert until is not None
    lock_minutes = (until - timezone.now()).total_seconds() / 60
    assert settings.LOGIN_LOCK_MINUTES - 1 < lock_minutes <= settings.LOGIN_LOCK_MINUTES
    locked = (
        f"账号因多次密码错误已锁定，请于{timezone.localtime(until):%H:%M}后再试或联系管理员解锁。"
    )
    assert fifth.status_code == 400
    assert fifth.json()["error"] == {"code": "account_locked", "message": locked}
    _client, page = _page_login(world.a.host, "nobody-here", WRONG)
    assert _login_error(page) == locked
    # the count is per host: the same name on school B and on the bureau host is untouched
    _client, other_school = _page_login(world.b.host, "nobody-here", WRONG)
    assert _login_error(other_school) == INVALID
    _client, bureau = _page_login(settings.BASE_DOMAIN, "nobody-here", WRONG)
    assert _login_error(bureau) == INVALID
    # and other unknown names on the same host are not affected
    _client, another = _page_login(world.a.host, "nobody-else", WRONG)
    assert _login_error(another) == INVALID


def test_unknown_name_lock_on_the_bureau_host(world: World) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        response = _token(settings.BASE_DOMAIN, "no-such-officer", WRONG)
        assert response.json()["error"]["code"] == "authentication_failed"
    assert _token(settings.BASE_DOMAIN, "no-such-officer", WRONG).json()["error"]["code"] == (
        "account_locked"
    )
    # a real officer's account on the same host is not locked by it
    assert _token(settings.BASE_DOMAIN, world.bureau_user, PASSWORD).status_code == 200


def test_administrator_unlocks_on_the_page_and_through_the_api(world: World) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _page_login(world.a.host, "teacher", WRONG)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _page_login(world.a.host, "subject", WRONG)
    admin = login(world.a.host, "admin")
    listing = admin.get("/accounts/users/").content.decode()
    connection.set_schema_to_public()
    until = timezone.localtime(_user(world.a.schema, "teacher").locked_until).strftime("%H:%M")
    assert f"锁定至{until}" in listing
    assert "解锁" in listing
    teacher_id = _user(world.a.schema, "teacher").pk
    subject_id = _user(world.a.schema, "subject").pk

    # nobody but the school administrator may unlock
    registrar = login(world.a.host, "registrar")
    assert registrar.post(f"/api/v1/users/{teacher_id}/unlock/").status_code == 403
    assert registrar.post(f"/accounts/users/{teacher_id}/unlock/").status_code == 403
    connection.set_schema_to_public()
    assert _user(world.a.schema, "teacher").locked_until is not None

    page = admin.post(f"/accounts/users/{teacher_id}/unlock/")
    connection.set_schema_to_public()
    assert page.status_code == 302
    assert page["Location"] == "/accounts/users/"
    _client, response = _page_login(world.a.host, "teacher", PASSWORD)
    assert response.status_code == 302  # type: ignore[attr-defined]

    api = admin.post(f"/api/v1/users/{subject_id}/unlock/")
    connection.set_schema_to_public()
    assert api.status_code == 200
    assert api.json()["locked_until"] is None
    assert _token(world.a.host, "subject", PASSWORD).status_code == 200


def test_lockout_is_per_school(world: World) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _page_login(world.a.host, "registrar", WRONG)
    assert _user(world.a.schema, "registrar").locked_until is not None
    _client, response = _page_login(world.b.host, "registrar", PASSWORD)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert _user(world.b.schema, "registrar").locked_until is None


# -- enabled / disabled ---------------------------------------------------------------


def test_disabled_user_cannot_log_in_and_loses_every_session(world: World) -> None:
    from accounts.models import UserSession

    teacher = login(world.a.host, "teacher")
    token = _token(world.a.host, "teacher", PASSWORD).json()["token"]
    assert teacher.get("/api/v1/me/").status_code == 200
    teacher_id = _user(world.a.schema, "teacher").pk
    admin = login(world.a.host, "admin")

    response = admin.post(
        f"/api/v1/users/{teacher_id}/active/", {"active": False}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    with school_context(world.a.schema):
        assert not UserSession.objects.filter(user_id=teacher_id).exists()
    connection.set_schema_to_public()
    assert teacher.get("/api/v1/me/").status_code == 401
    assert teacher.get("/registry/students/").status_code == 302
    tokened = Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION=f"Token {token}")
    assert tokened.get("/api/v1/me/").status_code == 401
    connection.set_schema_to_public()

    _client, page = _page_login(world.a.host, "teacher", PASSWORD)
    assert _login_error(page) == "该账号已停用，请联系管理员。"
    _client, wrong = _page_login(world.a.host, "teacher", WRONG)
    assert _login_error(wrong) == INVALID
    api = _token(world.a.host, "teacher", PASSWORD)
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "account_disabled"

    # enabled again from the user list
    listing = admin.get("/accounts/users/").content.decode()
    assert "停用" in listing
    assert "启用" in listing
    enabled = admin.post(f"/accounts/users/{teacher_id}/active/", {"active": "1"})
    connection.set_schema_to_public()
    assert enabled.status_code == 302
    assert login(world.a.host, "teacher").get("/api/v1/me/").status_code == 200


def test_administrator_cannot_disable_himself(world: World) -> None:
    admin = login(world.a.host, "admin")
    admin_id = _user(world.a.schema, "admin").pk
    response = admin.post(
        f"/api/v1/users/{admin_id}/active/", {"active": False}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "self", "message": "不能停用自己的账号。"}
    page = admin.post(f"/accounts/users/{admin_id}/active/", {"active": "0"}, follow=True)
    connection.set_schema_to_public()
    assert "不能停用自己的账号。" in page.content.decode()
    assert _user(world.a.schema, "admin").is_active
    assert admin.get("/api/v1/me/").status_code == 200


def test_page_action_disables_an_account(world: World) -> None:
    approver = login(world.a.host, "approver")
    approver_id = _user(world.a.schema, "approver").pk
    admin = login(world.a.host, "admin")
    missing = admin.post(f"/accounts/users/{approver_id}/active/", {})
    connection.set_schema_to_public()
    assert missing.status_code == 302
    assert _user(world.a.schema, "approver").is_active
    response = admin.post(f"/accounts/users/{approver_id}/active/", {"active": "0"})
    connection.set_schema_to_public()
    assert response.status_code == 302
    assert not _user(world.a.schema, "approver").is_active
    assert approver.get("/api/v1/me/").status_code == 401
    connection.set_schema_to_public()


# -- sessions -------------------------------------------------------------------------

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0"
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


def test_sessions_are_listed_and_another_one_can_be_ended(world: World) -> None:
    office, _ = _page_login(world.a.host, "registrar", PASSWORD, HTTP_USER_AGENT=FIREFOX)
    phone, _ = _page_login(
        world.a.host, "registrar", PASSWORD, HTTP_USER_AGENT=CHROME, REMOTE_ADDR="10.1.2.3"
    )
    listed = office.get("/api/v1/me/sessions/")
    connection.set_schema_to_public()
    assert listed.status_code == 200
    rows = listed.json()
    assert len(rows) == 2
    current = [r for r in rows if r["current"]]
    other = [r for r in rows if not r["current"]]
    assert current[0]["browser"] == "Firefox 126 · Windows"
    assert other[0]["browser"] == "Chrome 124 · macOS"
    assert other[0]["ip"] == "10.1.2.3"

    page = office.get("/accounts/sessions/").content.decode()
    connection.set_schema_to_public()
    assert "退出该会话" in page
    assert "Chrome 124 · macOS" in page

    # another user's session is not ours to end
    teacher = login(world.a.host, "teacher")
    assert teacher.post(f"/api/v1/me/sessions/{other[0]['id']}/end/").status_code == 404
    connection.set_schema_to_public()

    ended = office.post(f"/api/v1/me/sessions/{other[0]['id']}/end/")
    connection.set_schema_to_public()
    assert ended.status_code == 204
    assert phone.get("/api/v1/me/").status_code == 401
    assert phone.get("/registry/students/").status_code == 302
    assert office.get("/api/v1/me/").status_code == 200
    assert len(office.get("/api/v1/me/sessions/").json()) == 1
    connection.set_schema_to_public()


def test_sign_out_of_every_other_session_from_the_page(world: World) -> None:
    first = login(world.a.host, "registrar")
    second = login(world.a.host, "registrar")
    third = login(world.a.host, "registrar")
    response = first.post("/accounts/sessions/end-others/", follow=True)
    connection.set_schema_to_public()
    assert "已退出其他 2 个会话和接口令牌。" in response.content.decode()
    assert first.get("/api/v1/me/").status_code == 200
    assert second.get("/api/v1/me/").status_code == 401
    assert third.get("/api/v1/me/").status_code == 401
    # ending one session from the page
    fourth = login(world.a.host, "registrar")
    rows = first.get("/api/v1/me/sessions/").json()
    other = next(r for r in rows if not r["current"])
    page = first.post(f"/accounts/sessions/{other['id']}/end/")
    connection.set_schema_to_public()
    assert page.status_code == 302
    assert fourth.get("/api/v1/me/").status_code == 401
    connection.set_schema_to_public()


def test_logout_forgets_the_session(world: World) -> None:
    from accounts.models import UserSession

    client = login(world.a.host, "registrar")
    user_id = _user(world.a.schema, "registrar").pk
    with school_context(world.a.schema):
        assert UserSession.objects.filter(user_id=user_id).count() == 1
    connection.set_schema_to_public()
    client.post("/accounts/logout/")
    with school_context(world.a.schema):
        assert not UserSession.objects.filter(user_id=user_id).exists()
    connection.set_schema_to_public()


def test_idle_session_times_out(world: World) -> None:
    from accounts.models import UserSession

    client = login(world.a.host, "registrar")
    assert client.get("/registry/students/").status_code == 200
    idle = int(time.time()) - settings.SESSION_IDLE_MINUTES * 60 - 5
    _session_set(client, world.a.schema, **{ACTIVITY_KEY: idle})
    response = client.get("/registry/students/")
    connection.set_schema_to_public()
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/registry/students/"
    page = client.get(response["Location"]).content.decode()
    connection.set_schema_to_public()
    assert "长时间未操作，已自动退出，请重新登录。" in page
    assert client.get("/api/v1/me/").status_code == 401
    with school_context(world.a.schema):
        assert not UserSession.objects.filter(user__username="registrar").exists()
    connection.set_schema_to_public()

    # recent activity keeps the session; the API also times out (401, no redirect)
    api = login(world.a.host, "registrar")
    _session_set(api, world.a.schema, **{ACTIVITY_KEY: int(time.time()) - 20 * 60})
    assert api.get("/api/v1/me/").status_code == 200
    _session_set(api, world.a.schema, **{ACTIVITY_KEY: idle})
    assert api.get("/api/v1/me/").status_code == 401
    connection.set_schema_to_public()


def test_session_age_is_capped_since_login(world: World) -> None:
    client = login(world.a.host, "registrar")
    too_old = int(time.time()) - settings.SESSION_COOKIE_AGE - 5
    _session_set(client, world.a.schema, **{LOGIN_AT_KEY: too_old})
    response = client.get("/registry/students/", follow=True)
    connection.set_schema_to_public()
    assert "登录时间已超过上限，请重新登录。" in response.content.decode()
    assert client.get("/api/v1/me/").status_code == 401
    connection.set_schema_to_public()


# -- step-up re-authentication --------------------------------------------------------


def _problem(world: World) -> int:
    from tenant_apps.registry.models import ProblemRecord, Student

    with school_context(world.a.schema):
        student = Student.objects.exclude(audit_state="deleted").first()
        problem = ProblemRecord.objects.create(student=student, kind="suspected")  # type: ignore[misc]
    connection.set_schema_to_public()
    return problem.pk


def _problem_state(world: World, problem_id: int) -> str:
    from tenant_apps.registry.models import ProblemRecord

    with school_context(world.a.schema):
        state = ProblemRecord.objects.get(pk=problem_id).state
    connection.set_schema_to_public()
    return str(state)


def _stale(client: Client, world: World) -> None:
    old = int(time.time()) - settings.REAUTH_MINUTES * 60 - 5
    _session_set(client, world.a.schema, **{REAUTH_SESSION_KEY: old})


def test_problem_delete_api_needs_the_password_again(world: World) -> None:
    problem_id = _problem(world)
    registrar = login(world.a.host, "registrar")
    _stale(registrar, world)
    url = f"/api/v1/problems/{problem_id}/delete/"
    refused = registrar.post(url, {"reason": "重复录入"}, content_type="application/json")
    connection.set_schema_to_public()
    assert refused.status_code == 403
    assert refused.json()["error"] == {"code": "reauth_required", "message": REAUTH_MESSAGE}
    assert _problem_state(world, problem_id) == "open"

    wrong = registrar.post("/api/v1/auth/reauth/", {"password": WRONG}, "application/json")
    connection.set_schema_to_public()
    assert wrong.status_code == 400
    assert wrong.json()["error"] == {"code": "password", "message": "密码不正确。"}
    assert _user(world.a.schema, "registrar").failed_logins == 1
    assert registrar.post(url, {"reason": "重复录入"}, "application/json").status_code == 403

    right = registrar.post("/api/v1/auth/reauth/", {"password": PASSWORD}, "application/json")
    connection.set_schema_to_public()
    assert right.status_code == 204
    done = registrar.post(url, {"reason": "重复录入"}, content_type="application/json")
    connection.set_schema_to_public()
    assert done.status_code == 204
    assert _problem_state(world, problem_id) == "deleted"
    assert _user(world.a.schema, "registrar").failed_logins == 0


def test_problem_delete_page_asks_for_the_password_and_keeps_the_reason(world: World) -> None:
    problem_id = _problem(world)
    registrar = login(world.a.host, "registrar")
    _stale(registrar, world)
    url = f"/registry/problems/{problem_id}/delete/"
    asked = registrar.post(url, {"reason": "该生已在乙校注册"})
    connection.set_schema_to_public()
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "请再次输入密码" in page
    assert REAUTH_MESSAGE in page
    assert 'name="reason" value="该生已在乙校注册"' in page
    assert f'name="{REAUTH_FIELD}"' in page
    assert _problem_state(world, problem_id) == "open"

    wrong = registrar.post(url, {"reason": "该生已在乙校注册", REAUTH_FIELD: WRONG})
    connection.set_schema_to_public()
    assert wrong.status_code == 200
    assert "密码不正确。" in wrong.content.decode()
    assert _problem_state(world, problem_id) == "open"

    done = registrar.post(url, {"reason": "该生已在乙校注册", REAUTH_FIELD: PASSWORD})
    connection.set_schema_to_public()
    assert done.status_code == 302
    assert _problem_state(world, problem_id) == "deleted"


def test_export_needs_the_password_again(world: World) -> None:
    registrar = login(world.a.host, "registrar")
    assert registrar.get("/api/v1/students/export/").status_code == 200  # just logged in
    _stale(registrar, world)
    refused = registrar.get("/api/v1/students/export/", {"q": "哨兵"})
    connection.set_schema_to_public()
    assert refused.status_code == 403
    assert refused.json()["error"] == {"code": "reauth_required", "message": REAUTH_MESSAGE}

    # the export link of the roster page goes through the password page and back
    browser = registrar.get(
        "/api/v1/students/export/?q=%E5%93%A8%E5%85%B5", HTTP_ACCEPT="text/html,*/*;q=0.8"
    )
    connection.set_schema_to_public()
    assert browser.status_code == 302
    assert browser["Location"] == (
        "/accounts/reauth/?next=%2Fapi%2Fv1%2Fstudents%2Fexport%2F%3Fq%3D%25E5%2593%25A8%25E5%2585%25B5"
    )
    form = registrar.get(browser["Location"])
    connection.set_schema_to_public()
    assert form.status_code == 200
    assert "请再次输入密码" in form.content.decode()
    wrong = registrar.post(
        "/accounts/reauth/", {"password": WRONG, "next": "/api/v1/students/export/?q=x"}
    )
    connection.set_schema_to_public()
    assert wrong.status_code == 200
    assert "密码不正确。" in wrong.content.decode()
    back = registrar.post(
        "/accounts/reauth/",
        {"password": PASSWORD, "next": "/api/v1/students/export/?q=%E5%93%A8%E5%85%B5"},
    )
    connection.set_schema_to_public()
    assert back.status_code == 302
    assert back["Location"] == "/api/v1/students/export/?q=%E5%93%A8%E5%85%B5"
    download = registrar.get(back["Location"], HTTP_ACCEPT="text/html,*/*;q=0.8")
    connection.set_schema_to_public()
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    # never redirected off the host
    evil = registrar.post("/accounts/reauth/", {"password": PASSWORD, "next": "https://evil.test/"})
    connection.set_schema_to_public()
    assert evil["Location"] == "/"


def test_a_wrong_password_when_confirming_is_audited_as_a_failed_login(world: World) -> None:
    """Re-authentication failures are password guesses like any other: audited as
    login.failed (marked as a re-authentication) from the page, the guard and the API."""
    from accounts.models import AuditEntry, User

    registrar = login(world.a.host, "registrar")
    with school_context(world.a.schema):
        last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        failed_before = User.objects.get(username="registrar").failed_logins
    connection.set_schema_to_public()

    page = registrar.post("/accounts/reauth/", {"password": WRONG, "next": "/"})
    connection.set_schema_to_public()
    api = registrar.post("/api/v1/auth/reauth/", {"password": WRONG}, "application/json")
    connection.set_schema_to_public()

    assert page.status_code == 200
    assert api.status_code == 400
    with school_context(world.a.schema):
        entries = list(
            AuditEntry.objects.filter(id__gt=last, action="login.failed").order_by("id").values()
        )
        failed_after = User.objects.get(username="registrar").failed_logins
    connection.set_schema_to_public()
    assert [(e["username"], e["school"], e["after"]) for e in entries] == [
        ("registrar", world.a.schema, {"reauth": True}),
        ("registrar", world.a.schema, {"reauth": True}),
    ]
    assert failed_after == failed_before + 2  # and they count toward the lock


def test_token_clients_reauthenticate_through_the_api(world: World) -> None:
    from django.core.cache import cache
    from knox.crypto import hash_token

    from accounts.reauth import _token_cache_key

    key = _token(world.a.host, "registrar", PASSWORD).json()["token"]
    client = Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/students/export/").status_code == 200
    with school_context(world.a.schema):
        # the mark is kept under the token's digest (the token itself is never stored)
        cache.delete(_token_cache_key(hash_token(key)))
    connection.set_schema_to_public()
    # a token client is never redirected to the password page
    assert client.get("/api/v1/students/export/", HTTP_ACCEPT="text/html").status_code == 403
    refused = client.get("/api/v1/students/export/")
    connection.set_schema_to_public()
    assert refused.status_code == 403
    assert refused.json()["error"] == {"code": "reauth_required", "message": REAUTH_MESSAGE}
    ok = client.post("/api/v1/auth/reauth/", {"password": PASSWORD}, "application/json")
    connection.set_schema_to_public()
    assert ok.status_code == 204
    assert client.get("/api/v1/students/export/").status_code == 200
    connection.set_schema_to_public()


# -- two-factor authentication --------------------------------------------------------


def _enable_totp(client: Client) -> str:
    page = client.get("/accounts/two-factor/").content.decode()
    connection.set_schema_to_public()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret is not None
    uri = re.search(r'id="totp-uri">([^<]+)<', page)
    assert uri is not None
    assert uri.group(1).startswith("otpauth://totp/")
    assert f"secret={secret.group(1)}" in uri.group(1)
    wrong = client.post("/accounts/two-factor/", {"action": "enable", "code": "000000"})
    connection.set_schema_to_public()
    if totp.code_verify(secret.group(1), "000000") is None:
        assert "验证码不正确，请重新输入。" in wrong.content.decode()
    done = client.post(
        "/accounts/two-factor/", {"action": "enable", "code": totp.code_at(secret.group(1))}
    )
    connection.set_schema_to_public()
    assert done.status_code == 302
    return secret.group(1)


def _wrong_code(secret: str) -> str:
    at = time.time()
    valid = {totp.code_at(secret, at + d * totp.STEP_SECONDS) for d in (-2, -1, 0, 1, 2)}
    return next(c for c in ("123456", "654321", "111111", "222222") if c not in valid)


def test_totp_login_needs_the_code(world: World) -> None:
    admin = login(world.a.host, "admin")
    secret = _enable_totp(admin)
    assert _user(world.a.schema, "admin").totp_enabled
    step = totp.step_at()

    client, first = _page_login(world.a.host, "admin", PASSWORD)
    assert first.status_code == 200  # type: ignore[attr-defined]
    assert 'name="code"' in first.content.decode()  # type: ignore[attr-defined]
    assert client.get("/api/v1/me/").status_code == 401  # not signed in yet
    wrong = client.post("/accounts/login/", {"step": "code", "code": _wrong_code(secret)})
    connection.set_schema_to_public()
    assert _login_error(wrong) == "验证码不正确，请重新输入。"
    assert _user(world.a.schema, "admin").failed_logins == 1
    code = totp.hotp(totp._key(secret), step)
    right = client.post("/accounts/login/", {"step": "code", "code": code})
    connection.set_schema_to_public()
    assert right.status_code == 302
    assert client.get("/api/v1/me/").status_code == 200
    assert _user(world.a.schema, "admin").failed_logins == 0

    # a used code is refused (replay), the token API asks for the code too
    again, _ = _page_login(world.a.host, "admin", PASSWORD)
    replay = again.post("/accounts/login/", {"step": "code", "code": code})
    connection.set_schema_to_public()
    assert _login_error(replay) == "验证码不正确，请重新输入。"
    missing = _token(world.a.host, "admin", PASSWORD)
    assert missing.status_code == 400
    assert missing.json()["error"] == {"code": "totp_required", "message": "请输入两步验证码。"}
    bad = _token(world.a.host, "admin", PASSWORD, otp=_wrong_code(secret))
    assert bad.json()["error"]["code"] == "totp_invalid"
    next_code = totp.hotp(totp._key(secret), step + 1)
    assert _token(world.a.host, "admin", PASSWORD, otp=next_code).status_code == 200


def test_wrong_codes_lock_the_account(world: World) -> None:
    admin = login(world.a.host, "admin")
    secret = _enable_totp(admin)
    client, _ = _page_login(world.a.host, "admin", PASSWORD)
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        response = client.post("/accounts/login/", {"step": "code", "code": _wrong_code(secret)})
        assert _login_error(response) == "验证码不正确，请重新输入。"
    last = client.post("/accounts/login/", {"step": "code", "code": _wrong_code(secret)})
    connection.set_schema_to_public()
    assert _login_error(last) == _locked_message(world.a.schema, "admin")
    # the right password and code no longer help
    again, response = _page_login(world.a.host, "admin", PASSWORD)  # type: ignore[assignment]
    assert _login_error(response) == _locked_message(world.a.schema, "admin")


def test_totp_is_offered_to_administrators_and_bureau_staff_only(world: World) -> None:
    teacher = login(world.a.host, "teacher")
    page = teacher.get("/accounts/two-factor/").content.decode()
    connection.set_schema_to_public()
    assert "两步验证仅供学校系统管理员和教育局、平台人员使用。" in page
    assert 'id="totp-secret"' not in page
    teacher.post("/accounts/two-factor/", {"action": "enable", "code": "123456"})
    connection.set_schema_to_public()
    assert not _user(world.a.schema, "teacher").totp_enabled

    officer = login(settings.BASE_DOMAIN, world.bureau_user)
    secret = _enable_totp(officer)
    connection.set_schema_to_public()
    from accounts.models import User

    assert User.objects.get(username=world.bureau_user).totp_enabled
    client, first = _page_login(settings.BASE_DOMAIN, world.bureau_user, PASSWORD)
    assert 'name="code"' in first.content.decode()  # type: ignore[attr-defined]
    done = client.post("/accounts/login/", {"step": "code", "code": totp.code_at(secret)})
    connection.set_schema_to_public()
    assert done.status_code == 302


def test_disabling_totp_needs_the_password(world: World) -> None:
    admin = login(world.a.host, "admin")
    _enable_totp(admin)
    wrong = admin.post("/accounts/two-factor/", {"action": "disable", "password": WRONG})
    connection.set_schema_to_public()
    assert "密码不正确。" in wrong.content.decode()
    assert _user(world.a.schema, "admin").totp_enabled
    right = admin.post("/accounts/two-factor/", {"action": "disable", "password": PASSWORD})
    connection.set_schema_to_public()
    assert right.status_code == 302
    user = _user(world.a.schema, "admin")
    assert (user.totp_enabled, user.totp_secret) == (False, "")
    assert login(world.a.host, "admin").get("/api/v1/me/").status_code == 200


def test_totp_matches_the_rfc_6238_test_vectors() -> None:
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    for at, expected in ((59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924")):
        assert totp.code_at(secret, at, digits=8) == expected
    assert totp.code_verify(secret, totp.code_at(secret, 1000), at=1000 + 30) is not None
    assert totp.code_verify(secret, totp.code_at(secret, 1000), at=1000 + 90) is None
    assert totp.code_verify(secret, "12345", at=1000) is None


# -- bureau and platform accounts (账号管理 on the bureau host) -----------------------


def test_platform_operator_unlocks_bureau_accounts_on_the_bureau_host(world: World) -> None:
    """A bureau officer locked out on the bureau host is unlocked by the platform operator
    (page and API), audited with the lock that was lifted; nobody else may."""
    from accounts.models import AuditEntry, User

    for _ in range(settings.LOGIN_MAX_FAILURES):
        _page_login(settings.BASE_DOMAIN, world.bureau_user, WRONG)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _token(settings.BASE_DOMAIN, world.other_bureau_user, WRONG)
    officer = User.objects.get(username=world.bureau_user)
    other = User.objects.get(username=world.other_bureau_user)
    assert officer.locked_until is not None
    assert other.locked_until is not None

    operator = login(settings.BASE_DOMAIN, world.operator)
    listing = operator.get("/accounts/platform-users/")
    connection.set_schema_to_public()
    assert listing.status_code == 200
    page = listing.content.decode()
    assert f"锁定至{timezone.localtime(officer.locked_until):%H:%M}" in page
    assert "浏阳" in page  # the officer's bureau
    assert f'action="/accounts/platform-users/{officer.pk}/unlock/"' in page

    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    unlocked = operator.post(f"/accounts/platform-users/{officer.pk}/unlock/")
    connection.set_schema_to_public()
    assert unlocked.status_code == 302
    assert unlocked["Location"] == "/accounts/platform-users/"
    api = operator.post(f"/api/v1/platform-users/{other.pk}/unlock/")
    connection.set_schema_to_public()
    assert api.status_code == 200
    assert api.json()["locked_until"] is None
    assert _page_login(settings.BASE_DOMAIN, world.bureau_user, PASSWORD)[1].status_code == 302  # type: ignore[attr-defined]
    assert _token(settings.BASE_DOMAIN, world.other_bureau_user, PASSWORD).status_code == 200
    entries = list(
        AuditEntry.objects.filter(id__gt=last, object_type="user", action="write")
        .order_by("id")
        .values()
    )
    assert [(e["username"], e["action"], e["object_id"], e["school"]) for e in entries] == [
        (world.operator, "write", str(officer.pk), "public"),
        (world.operator, "write", str(other.pk), "public"),
    ]
    assert entries[0]["before"]["locked_until"] is not None
    assert entries[0]["before"]["failed_logins"] == 0  # the lock restarted the count
    assert entries[0]["after"] == {"locked_until": None, "failed_logins": 0}
    assert entries[0]["object_repr"] == str(officer)


def test_only_the_platform_operator_manages_bureau_accounts(world: World) -> None:
    from accounts.models import User

    officer = User.objects.get(username=world.bureau_user)
    bureau = login(settings.BASE_DOMAIN, world.bureau_user)
    for response in (
        bureau.get("/accounts/platform-users/"),
        bureau.post(f"/accounts/platform-users/{officer.pk}/unlock/"),
        bureau.post(f"/accounts/platform-users/{officer.pk}/active/", {"active": "0"}),
        bureau.get("/api/v1/platform-users/"),
        bureau.post(f"/api/v1/platform-users/{officer.pk}/unlock/"),
    ):
        assert response.status_code == 403
    connection.set_schema_to_public()
    # the routes do not exist on a school's host
    admin = login(world.a.host, "admin")
    assert admin.get("/accounts/platform-users/").status_code == 404
    assert admin.post(f"/api/v1/platform-users/{officer.pk}/unlock/").status_code == 404
    connection.set_schema_to_public()
    assert User.objects.get(username=world.bureau_user).is_active


def test_platform_operator_disables_and_enables_bureau_accounts(world: World) -> None:
    from accounts.models import AuditEntry, User, UserSession

    officer_client = login(settings.BASE_DOMAIN, world.other_bureau_user)
    other = User.objects.get(username=world.other_bureau_user)
    operator_user = User.objects.get(username=world.operator)
    operator = login(settings.BASE_DOMAIN, world.operator)

    disabled = operator.post(f"/accounts/platform-users/{other.pk}/active/", {"active": "0"})
    connection.set_schema_to_public()
    assert disabled.status_code == 302
    assert not User.objects.get(pk=other.pk).is_active
    assert not UserSession.objects.filter(user_id=other.pk).exists()
    assert officer_client.get("/api/v1/me/").status_code == 401
    _client, refused = _page_login(settings.BASE_DOMAIN, world.other_bureau_user, PASSWORD)
    assert _login_error(refused) == "该账号已停用，请联系管理员。"
    listing = operator.get("/accounts/platform-users/").content.decode()
    connection.set_schema_to_public()
    assert f'action="/accounts/platform-users/{other.pk}/active/"' in listing

    # nobody disables his or her own account
    self_off = operator.post(
        f"/api/v1/platform-users/{operator_user.pk}/active/",
        {"active": False},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert self_off.status_code == 400
    assert self_off.json()["error"]["message"] == "不能停用自己的账号。"
    assert User.objects.get(pk=operator_user.pk).is_active

    enabled = operator.post(
        f"/api/v1/platform-users/{other.pk}/active/",
        {"active": True},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert enabled.status_code == 200
    assert enabled.json()["is_active"] is True
    assert _token(settings.BASE_DOMAIN, world.other_bureau_user, PASSWORD).status_code == 200
    changes = list(
        AuditEntry.objects.filter(object_type="user", object_id=str(other.pk), action="write")
        .order_by("id")
        .values_list("username", "before", "after")
    )
    assert changes == [
        (world.operator, {"is_active": True}, {"is_active": False}),
        (world.operator, {"is_active": False}, {"is_active": True}),
    ]
    # unknown ids look like no account
    assert operator.post("/accounts/platform-users/999999/unlock/").status_code == 404
    connection.set_schema_to_public()


def test_school_unlock_and_disable_are_audited_with_the_account(world: World) -> None:
    from accounts.models import AuditEntry, User

    for _ in range(settings.LOGIN_MAX_FAILURES):
        _page_login(world.a.host, "staff", WRONG)
    staff = _user(world.a.schema, "staff")
    admin = login(world.a.host, "admin")
    assert admin.post(f"/accounts/users/{staff.pk}/unlock/").status_code == 302
    assert admin.post(f"/accounts/users/{staff.pk}/active/", {"active": "0"}).status_code == 302
    connection.set_schema_to_public()
    with school_context(world.a.schema):
        rows = list(
            AuditEntry.objects.filter(object_type="user", object_id=str(staff.pk), action="write")
            .order_by("id")
            .values("username", "object_repr", "before", "after", "path")
        )
        assert not User.objects.get(pk=staff.pk).is_active
    connection.set_schema_to_public()
    assert [(r["username"], r["object_repr"], r["path"]) for r in rows] == [
        ("admin", str(staff), f"/accounts/users/{staff.pk}/unlock/"),
        ("admin", str(staff), f"/accounts/users/{staff.pk}/active/"),
    ]
    assert rows[0]["before"]["locked_until"] is not None
    assert rows[0]["after"] == {"locked_until": None, "failed_logins": 0}
    assert (rows[1]["before"], rows[1]["after"]) == ({"is_active": True}, {"is_active": False})
