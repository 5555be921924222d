"""DRF permissions: deny by default, then grant by named right (accounts.roles)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

MSG_CHANGE_PASSWORD = "请先修改初始密码。"  # noqa: S105 - a message, not a password


class DenyAll(BasePermission):
    """The project default: a view that forgets to declare its rights serves nobody."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return False


class Authenticated(BasePermission):
    """Logged in on this host, active, and past the forced first password change."""

    message = "请先登录。"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if user.must_change_password and not getattr(view, "allow_initial_password", False):
            self.message = MSG_CHANGE_PASSWORD
            return False
        return True


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


Rights = str | tuple[str, ...]


def as_rights(rights: Rights) -> tuple[str, ...]:
    """One right or a tuple of alternatives, always as a tuple (any one suffices)."""
    return (rights,) if isinstance(rights, str) else tuple(rights)


def has_any_right(user: Any, rights: Rights) -> bool:
    return any(user.has_right(r) for r in as_rights(rights))


def has_right(right: Rights, *, write: Rights | None = None) -> type[BasePermission]:
    """Permission class granting access to users whose roles carry `right`; writes
    (POST, PUT, PATCH, DELETE) need `write` instead when it is given. Either may be a
    tuple of alternatives (any one suffices, e.g. 查看学籍 or 查看本班学籍). Declared on
    the view, so the access-matrix test can read what every endpoint requires."""

    class HasRight(Authenticated):
        read_right = as_rights(right)
        write_right = as_rights(write or right)

        def has_permission(self, request: Request, view: Any) -> bool:
            if not super().has_permission(request, view):
                return False
            needed = self.read_right if request.method in SAFE_METHODS else self.write_right
            if not has_any_right(request.user, needed):
                self.message = "您没有执行此操作的权限。"
                return False
            return True

    HasRight.__name__ = f"HasRight[{'|'.join(as_rights(right))}]"
    return HasRight
