"""Sign-in and re-entered passwords: the account's lock, the other failure budgets, the
second factor.

Every place a password or code is checked against an account lives here (the login page
and token API, the step-up re-authentication, the password change), because they share
one set of lock and budget helpers and must count failures the same way.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts import totp
from accounts.devices import device_id
from accounts.models import User
from accounts.sessions import user_sessions_end
from common.exceptions import ApplicationError

MSG_INVALID_LOGIN = gettext_noop("用户名或密码不正确。")
MSG_LOCKED = gettext_noop("账号因多次密码错误已锁定，请于%(time)s后再试或联系管理员解锁。")
MSG_INACTIVE = gettext_noop("该账号已停用，请联系管理员。")
MSG_TOTP_REQUIRED = gettext_noop("请输入两步验证码。")
MSG_TOTP_INVALID = gettext_noop("验证码不正确，请重新输入。")
MSG_WRONG_PASSWORD = gettext_noop("密码不正确。")  # noqa: S105 - a message, not a password
MSG_OLD_PASSWORD = "原密码不正确。"  # noqa: S105 - a message, not a password


class LoginStatus(StrEnum):
    OK = "ok"
    THROTTLED = "throttled"
    TOTP_REQUIRED = "totp_required"
    INVALID = "invalid"
    LOCKED = "locked"
    INACTIVE = "inactive"
    TOTP_INVALID = "totp_invalid"


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    message: str = ""
    user: User | None = None
    retry_after: int = 0  # seconds, when THROTTLED

    @property
    def ok(self) -> bool:
        return self.status is LoginStatus.OK


def _refused(status: LoginStatus, message: str) -> LoginResult:
    return LoginResult(status=status, message=gettext(message))


def _locked(until: datetime) -> LoginResult:
    local = timezone.localtime(until)
    return LoginResult(
        status=LoginStatus.LOCKED, message=gettext(MSG_LOCKED) % {"time": f"{local:%H:%M}"}
    )


def locked_until(user: User) -> datetime | None:
    """When the account's lock ends, or None when it is not locked now."""
    if user.locked_until is not None and user.locked_until > timezone.now():
        return user.locked_until
    return None


def login_failure_record(*, user_id: int) -> datetime | None:
    """Count one failed password or code in a single UPDATE (no read-then-write race).

    The failure that reaches LOGIN_MAX_FAILURES locks the account for LOGIN_LOCK_MINUTES
    and starts the count again. Returns the end of the lock when the account is locked."""
    until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    reaching = Q(failed_logins__gte=settings.LOGIN_MAX_FAILURES - 1)
    User.objects.filter(pk=user_id).update(
        failed_logins=Case(When(reaching, then=Value(0)), default=F("failed_logins") + 1),
        locked_until=Case(
            When(reaching, then=Value(until)),
            default=F("locked_until"),
            output_field=models.DateTimeField(),
        ),
    )
    current = User.objects.filter(pk=user_id).values_list("locked_until", flat=True).first()
    return current if current is not None and current > timezone.now() else None


def login_success_record(*, user_id: int) -> None:
    """A complete sign-in (or re-entered password) resets the failure count."""
    User.objects.filter(pk=user_id).exclude(failed_logins=0, locked_until=None).update(
        failed_logins=0, locked_until=None
    )


# Failures are also counted, in the cache per host schema, on "budgets" other than an
# account's own count:
# * "unknown": a username that does not exist, exactly like an account: after
#   LOGIN_MAX_FAILURES the name answers "locked" for LOGIN_LOCK_MINUTES. Otherwise the
#   lock message itself would tell an attacker which names are real accounts;
# * "device": a browser known to the account (accounts.devices). The account's lock is
#   for strangers; a known browser is held only by its own count, so a stranger cannot
#   lock the owner out, and the right password from a known browser lifts the lock;
# * "session": a signed-in session or API token re-entering the password (re-auth,
#   password change), held by its own count in the same way.
BUDGET_SECONDS = 24 * 3600  # a budget's count is forgotten after a day


def _budget_keys(kind: str, ident: str) -> tuple[str, str]:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    base = f"login-{kind}:{connection.schema_name}:{digest}"
    return f"{base}:count", f"{base}:locked"


def _budget_locked_until(kind: str, ident: str) -> datetime | None:
    _count, locked = _budget_keys(kind, ident)
    at = cache.get(locked)
    if not isinstance(at, int | float):
        return None
    until = datetime.fromtimestamp(at, tz=timezone.get_current_timezone())
    return until if until > timezone.now() else None


def _budget_failure(kind: str, ident: str) -> datetime | None:
    """Count one failure (atomic INCR in Redis); the failure that reaches
    LOGIN_MAX_FAILURES locks the budget and starts the count again. Returns the end of
    the lock when locked."""
    count_key, locked_key = _budget_keys(kind, ident)
    cache.add(count_key, 0, timeout=BUDGET_SECONDS)
    try:
        count = cache.incr(count_key)
    except ValueError:  # expired between add and incr
        cache.set(count_key, 1, timeout=BUDGET_SECONDS)
        count = 1
    if count < settings.LOGIN_MAX_FAILURES:
        return None
    until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    cache.set(locked_key, until.timestamp(), timeout=settings.LOGIN_LOCK_MINUTES * 60)
    cache.delete(count_key)
    return until


def _budget_clear(kind: str, ident: str) -> None:
    cache.delete_many(list(_budget_keys(kind, ident)))


def unknown_locked_until(username: str) -> datetime | None:
    """When the lock on a non-existent username ends, or None when it is not locked."""
    return _budget_locked_until("unknown", username)


def unknown_failure_record(username: str) -> datetime | None:
    """Count one failed attempt on a non-existent username; returns the end of the lock
    when the name is locked."""
    return _budget_failure("unknown", username)


def _source_locked(user: User, kind: str, source: str | None) -> datetime | None:
    """The lock that holds this attempt: the source's own when it is known to the
    account (a known browser, a signed-in session or token), else the account's."""
    if source is None:
        return locked_until(user)
    return _budget_locked_until(kind, f"{user.pk}:{source}")


def _failure_record(user: User, kind: str, source: str | None) -> datetime | None:
    """Every failure counts on the account; a known source also on its own count,
    whose lock is then the one that holds it."""
    account_until = login_failure_record(user_id=user.pk)
    if source is None:
        return account_until
    return _budget_failure(kind, f"{user.pk}:{source}")


def _success_record(user: User, kind: str, source: str | None) -> None:
    login_success_record(user_id=user.pk)
    if source is not None:
        _budget_clear(kind, f"{user.pk}:{source}")


def _signed_in_source(request: Any, user: User) -> str | None:
    """The signed-in session or API token a password is re-entered in (None without)."""
    if request is None:
        return None
    digest = getattr(getattr(request, "auth", None), "digest", None)
    if digest:
        return f"token:{digest}"
    session = getattr(getattr(request, "_request", request), "session", None)
    key = getattr(session, "session_key", None)
    return f"session:{key}" if key else None


@functools.cache
def _dummy_hash() -> str:
    """What an unknown username's password is checked against, so that it costs what an
    account's check costs (the default hasher, made once per process)."""
    return make_password(secrets.token_urlsafe(16))


def _password_matches(user: User | None, password: str) -> bool:
    """Check `password` with exactly one run of the password hasher, whether the account
    exists, is disabled or has no usable password: the time never tells them apart."""
    encoded = user.password if user is not None else ""
    try:
        identify_hasher(encoded)
    except ValueError:
        check_password(password, _dummy_hash())
        return False
    assert user is not None
    return user.check_password(password)


def _throttled(request: HttpRequest | None) -> LoginResult | None:
    from accounts.throttle import login_throttle_wait, throttled_message

    if request is None:
        return None
    wait = login_throttle_wait(getattr(request, "_request", request))
    if not wait:
        return None
    return LoginResult(
        status=LoginStatus.THROTTLED, message=throttled_message(wait), retry_after=wait
    )


def _throttle_count(request: HttpRequest | None) -> None:
    from accounts.throttle import login_throttle_count

    if request is not None:
        login_throttle_count(getattr(request, "_request", request))


def _failure_signal(request: HttpRequest | None, username: str) -> None:
    """Tell listeners (the audit log) about a refusal the auth backend never saw."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def _second_factor(
    request: HttpRequest | None, user: User, code: str, device: str | None
) -> LoginResult:
    step = totp.code_verify(user.totp_secret, code)
    # A code is good once: the cache remembers the used step for as long as it is valid.
    fresh = step is not None and cache.add(
        f"totp-used:{user.pk}:{step}", 1, timeout=(2 * totp.WINDOW + 1) * totp.STEP_SECONDS
    )
    if not fresh:
        _failure_signal(request, user.username)
        _throttle_count(request)
        until = _failure_record(user, "device", device)
        if until is not None:
            return _locked(until)
        return _refused(LoginStatus.TOTP_INVALID, MSG_TOTP_INVALID)
    _success_record(user, "device", device)
    return LoginResult(status=LoginStatus.OK, user=_signed_in(user))


def _signed_in(user: User) -> User:
    # django.contrib.auth.login needs to know which backend vouched for the user.
    user.backend = settings.AUTHENTICATION_BACKENDS[0]
    return user


def login_attempt(
    *, request: HttpRequest | None, username: str, password: str, code: str | None = None
) -> LoginResult:
    """One sign-in attempt on this host's accounts, for the login page and the token API.

    A browser unknown to the account is first held by the login throttles
    (accounts.throttle: THROTTLED, nothing checked). Unknown usernames get the same
    answers as accounts: the wrong-password message, and the lock message once
    LOGIN_MAX_FAILURES attempts were made on the name (counted in the cache, never
    creating a user); each attempt is audited as login.failed with the name tried.
    Unknown, disabled and existing names cost exactly one run of the password hasher.
    A locked account refuses strangers even with the right password; a browser known to
    the account is held only by its own count (see BUDGET_SECONDS) and its right
    password lifts the lock. An account with two-factor authentication answers
    TOTP_REQUIRED until `code` is given; a wrong code counts as a failure like a wrong
    password. Only a complete success resets the count."""
    username = username.strip()
    user = User.objects.filter(username=username).first()
    device = device_id(request, user.pk) if user is not None else None
    if device is None:
        throttled = _throttled(request)
        if throttled is not None:
            return throttled
    if user is None:
        if request is not None:
            # Read by the audit entry (accounts.audit.on_user_login_failed).
            getattr(request, "_request", request)._login_unknown_user = True  # type: ignore[union-attr]
        until = unknown_locked_until(username)
        _failure_signal(request, username)
        if until is not None:
            return _locked(until)  # as a locked account: no hashing
        _password_matches(None, password)  # the hashing time a real account would take
        _throttle_count(request)
        until = unknown_failure_record(username)
        if until is not None:
            return _locked(until)
        return _refused(LoginStatus.INVALID, MSG_INVALID_LOGIN)
    until = _source_locked(user, "device", device)
    if until is not None:
        _failure_signal(request, username)
        return _locked(until)
    matches = _password_matches(user, password)
    if not matches or not user.is_active:
        _failure_signal(request, username)
        _throttle_count(request)
        if matches:
            return _refused(LoginStatus.INACTIVE, MSG_INACTIVE)
        until = _failure_record(user, "device", device)
        if until is not None:
            return _locked(until)
        return _refused(LoginStatus.INVALID, MSG_INVALID_LOGIN)
    if user.totp_enabled:
        if not code:
            return LoginResult(
                status=LoginStatus.TOTP_REQUIRED,
                message=gettext(MSG_TOTP_REQUIRED),
                user=_signed_in(user),
            )
        return _second_factor(request, user, code, device)
    _success_record(user, "device", device)
    return LoginResult(status=LoginStatus.OK, user=_signed_in(user))


def login_second_factor(*, request: HttpRequest | None, user_id: int, code: str) -> LoginResult:
    """The second step of a sign-in whose password was right: the 6-digit code."""
    user = User.objects.filter(pk=user_id, is_active=True, totp_enabled=True).first()
    if user is None:
        return _refused(LoginStatus.INVALID, MSG_INVALID_LOGIN)
    device = device_id(request, user.pk)
    if device is None:
        throttled = _throttled(request)
        if throttled is not None:
            return throttled
    until = _source_locked(user, "device", device)
    if until is not None:
        _failure_signal(request, user.username)
        return _locked(until)
    return _second_factor(request, user, code, device)


def password_confirm(
    *, user: User, password: str, request: HttpRequest | None = None
) -> LoginResult:
    """Step-up re-authentication: the signed-in user enters the password again.

    Wrong passwords count toward the account's lock and toward this session's (or
    token's) own, which is the one that holds it: a borrowed session cannot be used to
    guess the password, and a stranger's failed logins elsewhere do not stop the owner.
    Each is audited as login.failed marked as a re-authentication (`request` gives the
    entry its host, address and session)."""
    current = User.objects.filter(pk=user.pk).first()
    if current is None or not current.is_active:
        return _refused(LoginStatus.INACTIVE, MSG_INACTIVE)
    source = _signed_in_source(request, current)
    until = _source_locked(current, "session", source)
    if until is not None:
        return _locked(until)
    if not current.check_password(password):
        if request is not None:
            # Read by the audit entry (accounts.audit.on_user_login_failed).
            getattr(request, "_request", request)._login_reauth = True  # type: ignore[union-attr]
        _failure_signal(request, current.username)
        until = _failure_record(current, "session", source)
        if until is not None:
            return _locked(until)
        return _refused(LoginStatus.INVALID, MSG_WRONG_PASSWORD)
    _success_record(current, "session", source)
    return LoginResult(status=LoginStatus.OK, user=current)


# -- Changing one's own password -------------------------------------------------------


def password_change(
    *, user: User, old_password: str, new_password: str, request: HttpRequest | None = None
) -> None:
    """Change the signed-in user's password and, in the same transaction, end every
    other session and revoke every other API token (the session or token of `request`
    stays; the caller then gives that session its new key). A wrong old password is a
    failed sign-in: audited as login.failed marked {password_change: true} and counted
    like a wrong re-entered password (the account's count, and this session's or
    token's own lock)."""
    source = _signed_in_source(request, user)
    until = _source_locked(user, "session", source)
    if until is not None:
        message = _locked(until).message
        raise ApplicationError(message, code="account_locked", extra={"old_password": [message]})
    if not user.check_password(old_password):
        if request is not None:
            # Read by the audit entry (accounts.audit.on_user_login_failed).
            getattr(request, "_request", request)._login_password_change = True  # type: ignore[union-attr]
        _failure_signal(request, user.username)
        until = _failure_record(user, "session", source)
        if until is not None:
            message = _locked(until).message
            raise ApplicationError(
                message, code="account_locked", extra={"old_password": [message]}
            )
        raise ApplicationError(
            MSG_OLD_PASSWORD, code="password", extra={"old_password": [MSG_OLD_PASSWORD]}
        )
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ApplicationError(
            "新密码不符合要求。", code="password", extra={"new_password": exc.messages}
        ) from exc
    token_id = getattr(getattr(request, "auth", None), "pk", None)
    session = getattr(getattr(request, "_request", request), "session", None)
    keep_key = None if token_id is not None else getattr(session, "session_key", None)
    _password_store(user=user, new_password=new_password, keep_key=keep_key, keep_token_id=token_id)
    _success_record(user, "session", source)


@transaction.atomic
def _password_store(
    *, user: User, new_password: str, keep_key: str | None, keep_token_id: int | None
) -> None:
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    user_sessions_end(user=user, keep_key=keep_key, keep_token_id=keep_token_id)
