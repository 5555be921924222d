"""系统设置: per grade, which student fields class teachers may edit (registry.policy.rules)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.fields import BY_KEY
from tenant_apps.registry.policy import rules as policy
from tenant_apps.registry.students.forms import ALL_GROUPS, member_label


def _rows(grades: list[policy.GradePolicy]) -> list[dict[str, Any]]:
    """The matrix: one row per choosable field (grouped like the form), one cell per grade."""
    choosable = {c.key for c in policy.choosable_columns()}
    groups = []
    for group in ALL_GROUPS:
        rows = []
        for key in group.keys:
            if key not in choosable:
                continue
            col = BY_KEY[key]
            household = key in policy.HOUSEHOLD_FIELDS
            rows.append(
                {
                    "key": key,
                    "label": member_label(col) if col.group != "student" else col.header,
                    "household": household,
                    "cells": [
                        {
                            "name": f"f:{g.key}",
                            "checked": key in g.fields,
                            "caution": household and g.graduating,
                        }
                        for g in grades
                    ],
                }
            )
        if rows:
            groups.append({"label": group.label, "rows": rows})
    return groups


@right_required(Right.SCHOOL_MANAGE)
@require_http_methods(["GET", "POST"])
def field_settings_view(request: HttpRequest) -> HttpResponse:
    grades = policy.grade_policies()
    if request.method == "POST":
        known = {g.key: g for g in grades}
        choices = {
            (known[key].stage, known[key].entry_year): request.POST.getlist(f"f:{key}")
            for key in request.POST.getlist("grades")
            if key in known
        }
        if not choices:
            messages.error(request, _("没有可保存的年级。"))
            return redirect("registry:field_settings")
        try:
            n = policy.policies_set(choices=choices, actor=Actor.of(request.user))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已保存 %(n)s 个年级的班主任可修改字段。") % {"n": n})
        return redirect("registry:field_settings")
    return render(
        request,
        "registry/field_settings.html",
        {
            "grades": grades,
            "groups": _rows(grades),
            "any_graduating": any(g.graduating for g in grades),
            "never": [BY_KEY[k].header for k in sorted(policy.KEY_FIELDS, key=_order)],
        },
    )


def _order(key: str) -> int:
    return BY_KEY[key].number if key in BY_KEY else 999
