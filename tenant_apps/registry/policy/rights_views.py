"""权限设置: the school administrator's page for roles, function rights, class rights,
the registrar's appointment and the cross-authorisation warning (accounts.rights).

It lives with the registry because it shows and sets class rights; accounts knows no
class. URL name (account_rights) and template (accounts/rights.html) are unchanged.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.rights import (
    CrossAuthorisation,
    cross_authorisations,
    registrar_appoint,
    registrar_current,
    registrar_terms,
    users_with_roles,
)
from accounts.roles import ROLE_RIGHTS, SCHOOL_RIGHTS, SCHOOL_ROLES, Right, Role
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.policy.access import user_access_set


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _back(user_id: int | None) -> HttpResponse:
    return redirect(reverse("account_rights") + (f"#u{user_id}" if user_id else ""))


def _warn_cross(request: HttpRequest, found: list[CrossAuthorisation]) -> None:
    for item in found:
        messages.warning(
            request,
            _("交叉授权：%(klass)s 有多位普通用户可修改（%(writers)s），每个班级应只有一位。")
            % {"klass": item.class_name, "writers": "、".join(item.writers)},
        )


def _save(request: HttpRequest, user_id: int) -> None:
    from accounts.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        messages.error(request, _("未找到该用户。"))
        return
    roles = set(request.POST.getlist("roles")) - {Role.REGISTRAR}
    if user.groups.filter(name=Role.REGISTRAR).exists():
        roles.add(Role.REGISTRAR)  # changed only by appointing another registrar
    from tenant_apps.registry.models import SchoolClass

    access = {
        pk: request.POST.get(f"class_{pk}", "")
        for pk in SchoolClass.objects.values_list("pk", flat=True)
    }
    user_access_set(
        user_id=user.pk,
        roles=roles,
        extra_rights=request.POST.getlist("extra_rights"),
        class_access=access,
        actor=Actor.of(request.user),
    )
    messages.success(request, _("已保存 %(user)s 的权限。") % {"user": str(user)})
    _warn_cross(request, [c for c in cross_authorisations() if str(user) in c.writers])


@right_required(Right.USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def rights_view(request: HttpRequest) -> HttpResponse:
    if connection.schema_name == "public":
        return HttpResponseForbidden()
    if request.method == "POST":
        action = request.POST.get("action", "")
        user_id = _int(request.POST.get("user_id"))
        try:
            if action == "appoint" and user_id:
                term = registrar_appoint(user_id=user_id, actor=Actor.of(request.user))
                messages.success(
                    request,
                    _("已任命 %(user)s 为学籍管理员，原学籍管理员的任期已结束。")
                    % {"user": str(term.user)},
                )
            elif action == "save" and user_id:
                _save(request, user_id)
            else:
                messages.error(request, _("请选择要设置的用户。"))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return _back(user_id)
    return render(request, "accounts/rights.html", _context())


def _context() -> dict[str, Any]:
    from tenant_apps.registry.classes.selectors import class_list
    from tenant_apps.registry.policy.rules import class_access_all

    classes = list(class_list())
    access = class_access_all()
    role_labels = dict(Role.choices)
    rights = [r for r in Right if r.value in SCHOOL_RIGHTS]
    rows = []
    for user in users_with_roles():
        from_roles = {r for role in user.role_codes for r in ROLE_RIGHTS.get(role, ())}
        mine = access.get(user.username, {})
        rows.append(
            {
                "user": user,
                "roles": [
                    {
                        "code": str(role),
                        "label": role.label,
                        "checked": role in user.role_codes,
                        "locked": role == Role.REGISTRAR,
                    }
                    for role in SCHOOL_ROLES
                ],
                "role_text": "、".join(str(role_labels.get(c, c)) for c in sorted(user.role_codes)),
                "rights": [
                    {
                        "code": r.value,
                        "label": r.label,
                        "from_role": r.value in from_roles,
                        "checked": r.value in from_roles or r.value in user.extra_rights,
                    }
                    for r in rights
                ],
                "extra_text": "、".join(
                    str(Right(r).label) for r in user.extra_rights if r in Right.values
                ),
                "classes": [{"klass": c, "access": mine.get(c.pk, "")} for c in classes],
                "class_count": len(mine),
                "is_registrar": Role.REGISTRAR in user.role_codes,
            }
        )
    return {
        "rows": rows,
        "classes": classes,
        "registrar": registrar_current(),
        "terms": registrar_terms(),
        "cross": cross_authorisations(),
        "access_choices": [
            ("", _("无")),
            ("read", _("只读")),
            ("write", _("可修改")),
            ("teacher", _("班主任")),
        ],
    }
