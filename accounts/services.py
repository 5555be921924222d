"""Accounts: creating them, and what an administrator changes on one.

Signing in and re-entered passwords are accounts.login; sessions and API tokens
("我的登录") are accounts.sessions.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop

from accounts import totp
from accounts.login import MSG_TOTP_INVALID, locked_until
from accounts.models import User
from accounts.roles import PUBLIC_ROLES, SCHOOL_ROLES, Role
from accounts.sessions import user_sessions_end
from common.exceptions import ApplicationError

# No 0/O, 1/l/I: initial passwords are read aloud and typed by hand.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
INITIAL_PASSWORD_LENGTH = 12

MSG_USERNAME_TAKEN = "用户名“{username}”已存在。"
MSG_ROLE_NOT_HERE = "角色“{role}”不能在此处授予。"


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


# -- An administrator's changes to an account ------------------------------------------

MSG_SELF_DISABLE = gettext_noop("不能停用自己的账号。")


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

MSG_TOTP_NOT_AVAILABLE = gettext_noop("两步验证仅供学校系统管理员和教育局、平台人员使用。")


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
