from __future__ import annotations

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
from django.contrib.auth import authenticate
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
from accounts.models import User, UserSession
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


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ApplicationError(
            MSG_OLD_PASSWORD, code="password", extra={"old_password": [MSG_OLD_PASSWORD]}
        )
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ApplicationError(
            "新密码不符合要求。", code="password", extra={"new_password": exc.messages}
        ) from exc
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])


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


# Failures against usernames that do not exist are counted in the cache, per host schema
# and name, exactly like an account's: after LOGIN_MAX_FAILURES the name answers "locked"
# for LOGIN_LOCK_MINUTES. Otherwise the lock message itself would tell an attacker which
# names are real accounts, and nothing would slow down guessing over unknown names.
UNKNOWN_FAILURES_SECONDS = 24 * 3600  # an unknown name's count is forgotten after a day


def _unknown_keys(username: str) -> tuple[str, str]:
    digest = hashlib.sha256(username.encode()).hexdigest()[:32]
    base = f"login-unknown:{connection.schema_name}:{digest}"
    return f"{base}:count", f"{base}:locked"


def unknown_locked_until(username: str) -> datetime | None:
    """When the lock on a non-existent username ends, or None when it is not locked."""
    _count, locked = _unknown_keys(username)
    at = cache.get(locked)
    if not isinstance(at, int | float):
        return None
    until = datetime.fromtimestamp(at, tz=timezone.get_current_timezone())
    return until if until > timezone.now() else None


def unknown_failure_record(username: str) -> datetime | None:
    """Count one failed attempt on a non-existent username (atomic INCR in Redis); the
    failure that reaches LOGIN_MAX_FAILURES locks the name like an account and starts the
    count again. Returns the end of the lock when the name is locked."""
    count_key, locked_key = _unknown_keys(username)
    cache.add(count_key, 0, timeout=UNKNOWN_FAILURES_SECONDS)
    try:
        count = cache.incr(count_key)
    except ValueError:  # expired between add and incr
        cache.set(count_key, 1, timeout=UNKNOWN_FAILURES_SECONDS)
        count = 1
    if count < settings.LOGIN_MAX_FAILURES:
        return None
    until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    cache.set(locked_key, until.timestamp(), timeout=settings.LOGIN_LOCK_MINUTES * 60)
    cache.delete(count_key)
    return until


def _failure_signal(request: HttpRequest | None, username: str) -> None:
    """Tell listeners (the audit log) about a refusal the auth backend never saw."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def _second_factor(request: HttpRequest | None, user: User, code: str) -> LoginResult:
    step = totp.code_verify(user.totp_secret, code)
    # A code is good once: the cache remembers the used step for as long as it is valid.
    fresh = step is not None and cache.add(
        f"totp-used:{user.pk}:{step}", 1, timeout=(2 * totp.WINDOW + 1) * totp.STEP_SECONDS
    )
    if not fresh:
        _failure_signal(request, user.username)
        until = login_failure_record(user_id=user.pk)
        if until is not None:
            return _locked(until)
        return _refused(LoginStatus.TOTP_INVALID, MSG_TOTP_INVALID)
    login_success_record(user_id=user.pk)
    return LoginResult(status=LoginStatus.OK, user=user)


def login_attempt(
    *, request: HttpRequest | None, username: str, password: str, code: str | None = None
) -> LoginResult:
    """One sign-in attempt on this host's accounts, for the login page and the token API.

    Unknown usernames get the same answers as accounts: the wrong-password message, and
    the lock message once LOGIN_MAX_FAILURES attempts were made on the name (counted in
    the cache, never creating a user); each attempt is audited as login.failed with the
    name tried. A locked account is refused even with the right password. An account with two-factor
    authentication answers TOTP_REQUIRED until `code` is given; a wrong code counts as a
    failure like a wrong password. Only a complete success resets the count."""
    username = username.strip()
    user = User.objects.filter(username=username).first()
    if user is None:
        if request is not None:
            # Read by the audit entry (accounts.audit.on_user_login_failed).
            getattr(request, "_request", request)._login_unknown_user = True
        until = unknown_locked_until(username)
        if until is not None:
            _failure_signal(request, username)  # as a locked account: no hashing
            return _locked(until)
        # The backend spends the hashing time a real account would and signals the failure.
        authenticate(request, username=username, password=password)
        until = unknown_failure_record(username)
        if until is not None:
            return _locked(until)
        return _refused(LoginStatus.INVALID, MSG_INVALID_LOGIN)
    until = locked_until(user)
    if until is not None:
        _failure_signal(request, username)
        return _locked(until)
    authenticated = authenticate(request, username=username, password=password)
    if authenticated is None:
        if not user.is_active and user.check_password(password):
            return _refused(LoginStatus.INACTIVE, MSG_INACTIVE)
        until = login_failure_record(user_id=user.pk)
        if until is not None:
            return _locked(until)
        return _refused(LoginStatus.INVALID, MSG_INVALID_LOGIN)
    if authenticated.totp_enabled:
        if not code:
            return LoginResult(
                status=LoginStatus.TOTP_REQUIRED,
                message=gettext(MSG_TOTP_REQUIRED),
                user=authenticated,
            )
        return _second_factor(request, authenticated, code)
    login_success_record(user_id=user.pk)
    return LoginResult(status=LoginStatus.OK, user=authenticated)


def login_second_factor(*, request: HttpRequest | None, user_id: int, code: str) -> LoginResult:
    """The second step of a sign-in whose password was right: the 6-digit code."""
    user = User.objects.filter(pk=user_id, is_active=True, totp_enabled=True).first()
    if user is None:
        return _refused(LoginStatus.INVALID, MSG_INVALID_LOGIN)
    until = locked_until(user)
    if until is not None:
        _failure_signal(request, user.username)
        return _locked(until)
    return _second_factor(request, user, code)


def password_confirm(
    *, user: User, password: str, request: HttpRequest | None = None
) -> LoginResult:
    """Step-up re-authentication: the signed-in user enters the password again.

    Wrong passwords count toward the lockout, so a borrowed session cannot be used to
    guess the password, and each is audited as login.failed marked as a
    re-authentication (`request` gives the entry its host, address and session)."""
    current = User.objects.filter(pk=user.pk).first()
    if current is None or not current.is_active:
        return _refused(LoginStatus.INACTIVE, MSG_INACTIVE)
    until = locked_until(current)
    if until is not None:
        return _locked(until)
    if not current.check_password(password):
        if request is not None:
            # Read by the audit entry (accounts.audit.on_user_login_failed).
            getattr(request, "_request", request)._login_reauth = True
        _failure_signal(request, current.username)
        until = login_failure_record(user_id=user.pk)
        if until is not None:
            return _locked(until)
        return _refused(LoginStatus.INVALID, MSG_WRONG_PASSWORD)
    login_success_record(user_id=user.pk)
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
def user_sessions_end(*, user: User, keep_key: str | None = None) -> int:
    """End every session of `user` except `keep_key`; returns how many ended."""
    sessions = UserSession.objects.filter(user=user).exclude(session_key=keep_key or "")
    ended = 0
    for session in sessions:
        _session_end(session)
        ended += 1
    return ended


def user_sessions_prune(*, user: User) -> None:
    """Forget rows whose session expired or vanished (browser closed, server cleanup)."""
    from django.contrib.sessions.models import Session

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
    """Enable or disable an account. Disabling signs the user out everywhere at once;
    nobody disables his or her own account. Audited with the state before and after."""
    if not active and actor is not None and actor.pk == user.pk:
        raise ApplicationError(gettext(MSG_SELF_DISABLE), code="self")
    before = {"is_active": user.is_active}
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        user_sessions_end(user=user)
    _account_audit(request, actor, user, before, {"is_active": active})


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
def totp_enable(*, user: User, secret: str, code: str) -> None:
    """Turn on the second factor once the user proves the app shows the right codes."""
    if not totp_available(user):
        raise ApplicationError(gettext(MSG_TOTP_NOT_AVAILABLE), code="totp")
    if totp.code_verify(secret, code) is None:
        raise ApplicationError(
            gettext(MSG_TOTP_INVALID), code="totp", extra={"code": [gettext(MSG_TOTP_INVALID)]}
        )
    user.totp_secret = secret
    user.totp_enabled = True
    user.save(update_fields=["totp_secret", "totp_enabled"])


@transaction.atomic
def totp_disable(*, user: User) -> None:
    user.totp_secret = ""
    user.totp_enabled = False
    user.save(update_fields=["totp_secret", "totp_enabled"])
