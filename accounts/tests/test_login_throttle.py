"""Login throttles per client address and per host in front of the login page and the
token API; the account lock that a stranger cannot turn against the owner (known
browsers); a wrong old password on password change counted and audited; unknown,
disabled and wrong-password logins cost the same single run of the password hasher."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher, get_hasher
from django.db import connection
from django.test import Client, override_settings

from conftest import PASSWORD, World, login
from tenants.context import school_context

WRONG = "Wrong-Passw0rd-000"
INVALID = "用户名或密码不正确。"
STRANGER = "203.0.113.7"


@pytest.fixture(autouse=True)
def _db(world: World, db: None) -> Iterator[None]:
    yield
    connection.set_schema_to_public()


def _page(host: str, username: str, password: str, client: Client | None = None, **extra: Any):
    client = client or Client(HTTP_HOST=host, **extra)
    response = client.post("/accounts/login/", {"username": username, "password": password})
    connection.set_schema_to_public()
    return client, response


def _api(host: str, username: str, password: str, client: Client | None = None, **extra: Any):
    client = client or Client(HTTP_HOST=host, **extra)
    response = client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    return response


def _error(response) -> str:
    found = re.findall(r'<div class="flash error">([^<]*)</div>', response.content.decode())
    assert found, "no error shown"
    return found[0].strip()


def _user(schema: str, username: str):
    from accounts.models import User

    if schema == "public":
        return User.objects.get(username=username)
    with school_context(schema):
        user = User.objects.get(username=username)
    connection.set_schema_to_public()
    return user


THROTTLED = re.compile(r"^登录尝试过于频繁，请于\d+分钟后再试。$")


@override_settings(LOGIN_THROTTLE_PER_ADDRESS="4/15m")
def test_failures_from_one_address_are_throttled_on_the_page_and_the_api(world: World) -> None:
    # given: four failures from one address, over the page and the token API, on two hosts
    _page(world.a.host, "nobody-1", WRONG, REMOTE_ADDR=STRANGER)
    _api(world.a.host, "registrar", WRONG, REMOTE_ADDR=STRANGER)
    _page(world.b.host, "nobody-2", WRONG, REMOTE_ADDR=STRANGER)
    _api(world.b.host, "teacher", WRONG, REMOTE_ADDR=STRANGER)
    # when / then: that address is refused before any password is checked, everywhere
    _client, page = _page(world.a.host, "principal", PASSWORD, REMOTE_ADDR=STRANGER)
    assert page.status_code == 429
    assert THROTTLED.match(_error(page))
    assert int(page["Retry-After"]) > 0
    api = _api(settings.BASE_DOMAIN, world.bureau_user, PASSWORD, REMOTE_ADDR=STRANGER)
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "throttled"
    assert THROTTLED.match(api.json()["error"]["message"])
    assert int(api["Retry-After"]) > 0
    # the throttled attempts never reached the accounts
    assert _user(world.a.schema, "principal").failed_logins == 0
    assert _user(world.a.schema, "registrar").failed_logins == 1
    # another address is not held, nor are successful sign-ins counted
    for _ in range(5):
        _client, ok = _page(world.a.host, "principal", PASSWORD, REMOTE_ADDR="198.51.100.9")
        assert ok.status_code == 302
    assert _api(world.a.host, "principal", PASSWORD, REMOTE_ADDR="198.51.100.9").status_code == 200


def test_ipv6_addresses_are_throttled_per_64_block(world: World) -> None:
    with override_settings(LOGIN_THROTTLE_PER_ADDRESS="2/15m"):
        _page(world.a.host, "nobody-1", WRONG, REMOTE_ADDR="2001:db8:1:2::10")
        _page(world.a.host, "nobody-2", WRONG, REMOTE_ADDR="2001:db8:1:2::99")
        _client, same_block = _page(world.a.host, "admin", PASSWORD, REMOTE_ADDR="2001:db8:1:2::5")
        _client, next_block = _page(world.a.host, "admin", PASSWORD, REMOTE_ADDR="2001:db8:1:3::5")
    assert same_block.status_code == 429
    assert next_block.status_code == 302


@override_settings(LOGIN_THROTTLE_PER_HOST="3/15m")
def test_failures_on_one_host_are_throttled_from_every_address(world: World) -> None:
    for n in range(3):
        _api(world.a.host, f"nobody-{n}", WRONG, REMOTE_ADDR=f"192.0.2.{n + 1}")
    _client, page = _page(world.a.host, "admin", PASSWORD, REMOTE_ADDR="192.0.2.50")
    assert page.status_code == 429
    assert _api(world.a.host, "admin", PASSWORD, REMOTE_ADDR="192.0.2.51").status_code == 429
    # other hosts are not held
    _client, other = _page(world.b.host, "admin", PASSWORD, REMOTE_ADDR="192.0.2.50")
    assert other.status_code == 302


def _locked(schema: str, username: str) -> str:
    from django.utils import timezone

    until = _user(schema, username).locked_until
    assert until is not None
    return (
        f"账号因多次密码错误已锁定，请于{timezone.localtime(until):%H:%M}后再试或联系管理员解锁。"
    )


def test_a_stranger_cannot_lock_the_owner_out_of_a_known_browser(world: World) -> None:
    """The lock after LOGIN_MAX_FAILURES holds browsers the account never signed in
    from; the owner's own browser signs in with the right password and lifts it."""
    # given: the registrar signed in once from this browser (and signed out)
    owner, first = _page(world.a.host, "registrar", PASSWORD)
    assert first.status_code == 302
    owner.post("/accounts/logout/")
    connection.set_schema_to_public()
    # when: a stranger makes the account lock
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _page(world.a.host, "registrar", WRONG, REMOTE_ADDR=STRANGER)
    locked = _locked(world.a.schema, "registrar")
    _client, stranger = _page(world.a.host, "registrar", PASSWORD, REMOTE_ADDR=STRANGER)
    assert _error(stranger) == locked
    assert _api(world.a.host, "registrar", PASSWORD).json()["error"]["code"] == "account_locked"
    # then: the owner's browser still signs in, and that lifts the lock
    _client, back = _page(world.a.host, "registrar", PASSWORD, client=owner)
    assert back.status_code == 302
    user = _user(world.a.schema, "registrar")
    assert (user.failed_logins, user.locked_until) == (0, None)
    # a cookie-keeping API client is known the same way
    script = Client(HTTP_HOST=world.a.host)
    assert _api(world.a.host, "registrar", PASSWORD, client=script).status_code == 200
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _api(world.a.host, "registrar", WRONG, REMOTE_ADDR=STRANGER)
    assert _api(world.a.host, "registrar", PASSWORD, client=script).status_code == 200


def test_a_known_browser_has_its_own_lock(world: World) -> None:
    """Someone at the owner's browser (or holding its cookie) still gets only
    LOGIN_MAX_FAILURES guesses; the account's own lock is not what holds it."""
    owner, _ = _page(world.a.host, "approver", PASSWORD)
    owner.post("/accounts/logout/")
    connection.set_schema_to_public()
    for attempt in range(1, settings.LOGIN_MAX_FAILURES):
        _client, response = _page(world.a.host, "approver", WRONG, client=owner)
        assert _error(response) == INVALID, attempt
    _client, last = _page(world.a.host, "approver", WRONG, client=owner)
    assert _error(last).startswith("账号因多次密码错误已锁定")
    _client, right = _page(world.a.host, "approver", PASSWORD, client=owner)
    assert right.status_code == 200
    assert _error(right).startswith("账号因多次密码错误已锁定")
    # a signed cookie cannot be made up: a forged one is a stranger's browser
    forged = Client(HTTP_HOST=world.a.host)
    forged.cookies["xueji_device"] = owner.cookies["xueji_device"].value[:-2] + "xx"
    _client, refused = _page(world.a.host, "approver", PASSWORD, client=forged)
    assert _error(refused).startswith("账号因多次密码错误已锁定")


def test_a_signed_in_session_is_not_held_by_a_strangers_lock(world: World) -> None:
    registrar = login(world.a.host, "registrar")
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _page(world.a.host, "registrar", WRONG, REMOTE_ADDR=STRANGER)
    assert _user(world.a.schema, "registrar").locked_until is not None
    confirmed = registrar.post("/api/v1/auth/reauth/", {"password": PASSWORD}, "application/json")
    connection.set_schema_to_public()
    assert confirmed.status_code == 204
    assert _user(world.a.schema, "registrar").locked_until is None


def test_a_wrong_old_password_on_password_change_is_counted_and_audited(world: World) -> None:
    from accounts.models import AuditEntry

    client = login(world.a.host, "teacher")
    with school_context(world.a.schema):
        last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    connection.set_schema_to_public()
    page = client.post(
        "/accounts/password/",
        {
            "old_password": WRONG,
            "new_password": "Another-Passw0rd-9",
            "new_password_again": "Another-Passw0rd-9",
        },
    )
    connection.set_schema_to_public()
    assert page.status_code == 200
    assert "原密码不正确。" in page.content.decode()
    api = client.post(
        "/api/v1/auth/password/",
        {"old_password": WRONG, "new_password": "Another-Passw0rd-9"},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert api.status_code == 400
    assert api.json()["error"]["fields"] == {"old_password": ["原密码不正确。"]}
    assert _user(world.a.schema, "teacher").failed_logins == 2
    with school_context(world.a.schema):
        entries = list(
            AuditEntry.objects.filter(id__gt=last, action="login.failed")
            .order_by("id")
            .values_list("username", "after", "path")
        )
    connection.set_schema_to_public()
    assert entries == [
        ("teacher", {"password_change": True}, "/accounts/password/"),
        ("teacher", {"password_change": True}, "/api/v1/auth/password/"),
    ]
    # guessing on: this session locks, and then even the right old password is refused
    for _ in range(settings.LOGIN_MAX_FAILURES - 2):
        client.post(
            "/api/v1/auth/password/",
            {"old_password": WRONG, "new_password": "Another-Passw0rd-9"},
            content_type="application/json",
        )
    connection.set_schema_to_public()
    right = client.post(
        "/api/v1/auth/password/",
        {"old_password": PASSWORD, "new_password": "Another-Passw0rd-9"},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert right.status_code == 400
    assert right.json()["error"]["code"] == "account_locked"
    assert _user(world.a.schema, "teacher").check_password(PASSWORD)


class CountingMD5PasswordHasher(MD5PasswordHasher):
    """The test suite's hasher, counting how often it hashes (verify hashes once)."""

    calls: ClassVar[int] = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).calls += 1
        return super().encode(password, salt)


@override_settings(PASSWORD_HASHERS=[f"{__name__}.CountingMD5PasswordHasher"])
def test_unknown_disabled_and_wrong_password_logins_hash_exactly_once(world: World) -> None:
    from accounts.models import User

    with school_context(world.a.schema):
        User.objects.filter(username="staff").update(is_active=False)
    connection.set_schema_to_public()
    counter = type(get_hasher("md5"))
    cases = {
        "unknown name": ("no-such-user", WRONG),
        "wrong password": ("principal", WRONG),
        "disabled, wrong password": ("staff", WRONG),
        "disabled, right password": ("staff", PASSWORD),
        "no usable password": ("a_nopassword", WRONG),
    }
    with school_context(world.a.schema):
        User.objects.create(username="a_nopassword", full_name="无密码", password="!unusable")
    connection.set_schema_to_public()
    hashed = {}
    for case, (username, password) in cases.items():
        for attempt in (_page, _api):
            counter.calls = 0  # type: ignore[attr-defined]
            attempt(world.a.host, username, password)
            hashed[(case, attempt.__name__)] = counter.calls  # type: ignore[attr-defined]
    assert hashed == dict.fromkeys(hashed, 1)
