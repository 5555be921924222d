from __future__ import annotations

import functools
import hashlib
import ipaddress
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.contrib.auth.models import Group
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
from accounts.models import ApiToken, User, UserSession
from accounts.roles import PUBLIC_ROLES, SCHOOL_ROLES, Role
from common.exceptions import ApplicationError

# No 0/O, 1/l/I: initial passwords are read aloud and typed by hand.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
INITIAL_PASSWORD_LENGTH = 12

MSG_USERNAME_TAKEN = "用户名“{username}”已存在。"
MSG_ROLE_NOT_HERE = "角色“{role}”不能在此处授予。"
MSG_OLD_PASSWORD = "原密码不正确。"  # noqa: S105 - a message, not a password


def initial_password_generate() -> str:
    """A random password with upper, lower and digits; never derived from personal data."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(INITIAL_PASSWORD_LENGTH))
        if (
            any(c.isupper() for c in password)
            and any(c.islower() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def roles_allowed_here() -> tuple[str, ...]:
    """School roles in a school schema, bureau/platform roles in public."""
    return PUBLIC_ROLES if connection.schema_name == "public" else SCHOOL_ROLES


@dataclass(frozen=True)
class CreatedUser:
    user_id: int
    username: str
    initial_password: str


def groups_ensure() -> None:
    """Create the role groups that belong in the current schema (idempotent)."""
    for role in roles_allowed_here():
        Group.objects.get_or_create(name=str(role))


@transaction.atomic
def user_create(
    *,
    username: str,
    full_name: str,
    roles: list[str],
    region_id: str | None = None,
    phone: str = "",
    password_hash: str | None = None,
) -> CreatedUser:
    """Create an account in the current schema with a random one-time password.

    The plain password is returned once for display and never stored; `password_hash`
    lets provisioning create an account whose password was shown earlier.
    """
    from accounts.rights import registrar_role_guard  # one 学籍管理员 per school

    registrar_role_guard(roles)
    username = username.strip()
    allowed = {str(r) for r in roles_allowed_here()}
    for role in roles:
        if role not in allowed:
            label = Role(role).label if role in Role.values else role
            raise ApplicationError(MSG_ROLE_NOT_HERE.format(role=label), code="role")
    if User.objects.filter(username=username).exists():
        raise ApplicationError(MSG_USERNAME_TAKEN.format(username=username), code="duplicate")
    password = "" if password_hash else initial_password_generate()
    user = User(
        username=username,
        full_name=full_name.strip(),
        phone=phone.strip(),
        region_id=region_id,
        must_change_password=True,
    )
    if password_hash:
        user.password = password_hash
    else:
        user.set_password(password)
    user.full_clean()
    user.save()
    groups_ensure()
    user.groups.set(Group.objects.filter(name__in=roles))
    return CreatedUser(user_id=user.pk, username=user.username, initial_password=password)


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


# -- Account security: lockout, second factor, sessions -----------------------------

MSG_INVALID_LOGIN = gettext_noop("用户名或密码不正确。")
MSG_LOCKED = gettext_noop("账号因多次密码错误已锁定，请于%(time)s后再试或联系管理员解锁。")
MSG_INACTIVE = gettext_noop("该账号已停用，请联系管理员。")
MSG_TOTP_REQUIRED = gettext_noop("请输入两步验证码。")
MSG_TOTP_INVALID = gettext_noop("验证码不正确，请重新输入。")
MSG_WRONG_PASSWORD = gettext_noop("密码不正确。")  # noqa: S105 - a message, not a password
MSG_SELF_DISABLE = gettext_noop("不能停用自己的账号。")
MSG_SESSION_NOT_FOUND = gettext_noop("未找到该登录会话。")
MSG_TOTP_NOT_AVAILABLE = gettext_noop("两步验证仅供学校系统管理员和教育局、平台人员使用。")


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


def _account_audit(
    request: HttpRequest | None,
    actor: User | None,
    user: User,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """The entry of an administrator's change to an account (who, whose, before/after)."""
    from accounts.audit import WRITE, audit_record

    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type="user",
        object_id=user.pk,
        object_repr=str(user),
        before=before,
        after=after,
    )


@transaction.atomic
def user_unlock(
    *, user: User, actor: User | None = None, request: HttpRequest | None = None
) -> None:
    """An administrator lifts a lock (and forgets the failures) before it runs out;
    audited with the lock that was lifted."""
    before = {"locked_until": locked_until(user), "failed_logins": user.failed_logins}
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    user.failed_logins, user.locked_until = 0, None
    _account_audit(request, actor, user, before, {"locked_until": None, "failed_logins": 0})


# -- Sessions ("我的登录") ------------------------------------------------------------


def client_ip(meta: Mapping[str, Any]) -> str | None:
    """The client's address: REMOTE_ADDR, or the last X-Forwarded-For hop (the one our
    own proxy appended) when settings.USE_X_FORWARDED_FOR says a trusted proxy is in
    front. Anything that is not an IP address is ignored."""
    candidates = []
    if settings.USE_X_FORWARDED_FOR:
        forwarded = [h.strip() for h in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
        candidates += [h for h in reversed(forwarded) if h][:1]
    candidates.append(str(meta.get("REMOTE_ADDR", "")))
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def user_session_record(
    *, user: User, session_key: str, ip: str | None, user_agent: str
) -> UserSession:
    session, _ = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "ip": ip, "user_agent": user_agent[:300]},
    )
    return session


def user_session_touch(*, session_key: str) -> None:
    UserSession.objects.filter(session_key=session_key).update(last_seen_at=timezone.now())


def user_session_rekey(*, old_key: str | None, new_key: str | None) -> None:
    """The session got a new key (after a password change): keep its row."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def user_session_forget(*, session_key: str) -> None:
    """The session ended (logout, timeout): drop its row."""
    UserSession.objects.filter(session_key=session_key).delete()


def _session_end(session: UserSession) -> None:
    _session_store()().delete(session.session_key)
    session.delete()


@transaction.atomic
def user_session_end(*, user: User, session_id: int) -> str:
    """End one of the user's own sessions: the other browser is signed out at once.
    Returns the session key."""
    session = UserSession.objects.filter(user=user, pk=session_id).first()
    if session is None:
        raise ApplicationError(gettext(MSG_SESSION_NOT_FOUND), code="not_found")
    key = session.session_key
    _session_end(session)
    return key


@transaction.atomic
def user_sessions_end(
    *, user: User, keep_key: str | None = None, keep_token_id: int | None = None
) -> int:
    """End every session of `user` except `keep_key` and revoke every API token except
    `keep_token_id` (sign out everywhere else; also after a password or two-factor
    change and when the account is disabled). Returns how many ended."""
    sessions = UserSession.objects.filter(user=user).exclude(session_key=keep_key or "")
    ended = 0
    for session in sessions:
        _session_end(session)
        ended += 1
    revoked, _ = ApiToken.objects.filter(user=user).exclude(pk=keep_token_id or 0).delete()
    return ended + revoked  # type: ignore[no-any-return]


# -- API tokens (one per named client, listed under "我的登录") ----------------------------

MSG_TOKEN_NOT_FOUND = gettext_noop("未找到该接口令牌。")
MSG_TOO_MANY_CLIENTS = gettext_noop(
    "每个账号最多可有%(n)s个接口客户端，请先在“我的登录”中注销不再使用的客户端。"
)
DEFAULT_CLIENT = "接口客户端"


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; only its digest is stored
    digest: str
    id: int
    client: str
    expiry: datetime | None


@transaction.atomic
def api_token_issue(
    *, user: User, client: str, ip: str | None = None, user_agent: str = ""
) -> IssuedToken:
    """A new token for the user's named client, replacing that client's previous one;
    at most API_TOKENS_PER_USER clients per user (expired tokens do not count)."""
    client = client.strip()[:60] or DEFAULT_CLIENT
    # Serialises issues for one user, so two at once cannot both pass the limit.
    User.objects.select_for_update().filter(pk=user.pk).exists()
    ApiToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    ApiToken.objects.filter(user=user, client=client).delete()
    limit = settings.API_TOKENS_PER_USER
    if ApiToken.objects.filter(user=user).count() >= limit:
        raise ApplicationError(gettext(MSG_TOO_MANY_CLIENTS) % {"n": limit}, code="too_many")
    instance, token = ApiToken.objects.create(
        user=user, client=client, ip=ip, user_agent=user_agent[:300]
    )
    return IssuedToken(
        token=token, digest=instance.digest, id=instance.pk, client=client, expiry=instance.expiry
    )


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> str:
    """Revoke one of the user's own tokens; returns its digest."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise ApplicationError(gettext(MSG_TOKEN_NOT_FOUND), code="not_found")
    digest = token.digest
    token.delete()
    return digest  # type: ignore[no-any-return]


def user_sessions_prune(*, user: User) -> None:
    """Forget rows whose session expired or vanished (browser closed, server cleanup),
    and expired API tokens."""
    from django.contrib.sessions.models import Session

    ApiToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    if not keys or not settings.SESSION_ENGINE.endswith(".db"):
        return
    live = set(
        Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
            "session_key", flat=True
        )
    )
    UserSession.objects.filter(user=user, session_key__in=set(keys) - live).delete()


@transaction.atomic
def user_set_active(
    *, user: User, active: bool, actor: User | None = None, request: HttpRequest | None = None
) -> None:
    """Enable or disable an account. Disabling signs the user out everywhere at once and
    revokes the API tokens (enabling again brings none back); nobody disables his or
    her own account. Audited with the state before and after."""
    if not active and actor is not None and actor.pk == user.pk:
        raise ApplicationError(gettext(MSG_SELF_DISABLE), code="self")
    before = {"is_active": user.is_active}
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        user_sessions_end(user=user)
    _account_audit(request, actor, user, before, {"is_active": active})


MSG_SELF_RESET = gettext_noop("不能这样重置自己的密码，请使用“修改密码”。")


@dataclass(frozen=True)
class PasswordReset:
    username: str
    initial_password: str  # shown once; only its hash is stored
    ended: int  # sessions ended and API tokens revoked


@transaction.atomic
def user_password_reset(
    *, user: User, actor: User, request: HttpRequest | None = None
) -> PasswordReset:
    """重置密码: an administrator gives an account of this schema a new one-time password
    that must be changed at the next sign-in; every session of the account ends and
    every API token is revoked in the same transaction. Nobody resets his or her own
    password this way (修改密码 asks for the old one). Audited, never with the password."""
    if actor.pk == user.pk:
        raise ApplicationError(gettext(MSG_SELF_RESET), code="self")
    password = initial_password_generate()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    ended = user_sessions_end(user=user)
    _account_audit(
        request,
        actor,
        user,
        {},
        {"password": "reset", "must_change_password": True, "sessions_ended": ended},
    )
    return PasswordReset(username=user.username, initial_password=password, ended=ended)


def public_user_get(user_id: int) -> User | None:
    """A bureau or platform account for the platform operator's 账号管理 (public host
    only; None elsewhere, so a school's ids never reach this page)."""
    if connection.schema_name != "public":
        return None
    return User.objects.filter(pk=user_id).first()


# -- Two-factor authentication ------------------------------------------------------


def totp_available(user: User) -> bool:
    """Offered to school administrators and to bureau and platform staff."""
    return connection.schema_name == "public" or Role.SCHOOL_ADMIN in user.role_codes


@transaction.atomic
def totp_enable(*, user: User, secret: str, code: str, keep_session_key: str | None) -> None:
    """Turn on the second factor once the user proves the app shows the right codes.
    Every other session (opened without the code) ends and every API token is revoked;
    the session that turned it on stays."""
    if not totp_available(user):
        raise ApplicationError(gettext(MSG_TOTP_NOT_AVAILABLE), code="totp")
    if totp.code_verify(secret, code) is None:
        raise ApplicationError(
            gettext(MSG_TOTP_INVALID), code="totp", extra={"code": [gettext(MSG_TOTP_INVALID)]}
        )
    user.totp_secret = secret
    user.totp_enabled = True
    user.save(update_fields=["totp_secret", "totp_enabled"])
    user_sessions_end(user=user, keep_key=keep_session_key)


@transaction.atomic
def totp_disable(*, user: User, keep_session_key: str | None) -> None:
    """Turn off the second factor; as with turning it on, every other session ends and
    every API token is revoked."""
    user.totp_secret = ""
    user.totp_enabled = False
    user.save(update_fields=["totp_secret", "totp_enabled"])
    user_sessions_end(user=user, keep_key=keep_session_key)
