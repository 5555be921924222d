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


def has_right(right: str) -> type[BasePermission]:
    """Permission class granting access to users whose roles carry `right`."""

    class HasRight(Authenticated):
        def has_permission(self, request: Request, view: Any) -> bool:
            if not super().has_permission(request, view):
                return False
            if not request.user.has_right(right):
                self.message = "您没有执行此操作的权限。"
                return False
            return True

    HasRight.__name__ = f"HasRight[{right}]"
    return HasRight
