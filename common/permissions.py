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


def has_right(right: str, *, write: str | None = None) -> type[BasePermission]:
    """Permission class granting access to users whose roles carry `right`; writes
    (POST, PUT, PATCH, DELETE) need `write` instead when it is given. Declared on the
    view, so the access-matrix test can read what every endpoint requires."""

    class HasRight(Authenticated):
        read_right = right
        write_right = write or right

        def has_permission(self, request: Request, view: Any) -> bool:
            if not super().has_permission(request, view):
                return False
            needed = self.read_right if request.method in SAFE_METHODS else self.write_right
            if not request.user.has_right(needed):
                self.message = "您没有执行此操作的权限。"
                return False
            return True

    HasRight.__name__ = f"HasRight[{right}]"
    return HasRight
