from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.models import User
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


@transaction.atomic
def user_set_active(*, user: User, active: bool) -> None:
    user.is_active = active
    user.save(update_fields=["is_active"])
