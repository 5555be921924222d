"""{% roster_check %}: the 人籍一致 section of the class teacher's list of pupils (本班学生),
drawn by the tag so the list's view stays as it is (registry.classes.roster)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("registry/roster_check.html", takes_context=True)
def roster_check(context: template.Context) -> dict[str, Any]:
    from tenant_apps.registry.classes.roster import roster_panels
    from tenant_apps.registry.policy.rules import student_scope

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"panels": []}
    from accounts.roles import Right

    return {
        "panels": roster_panels(user, student_scope(user)),
        # Starting a status change is the registrar's (维护学籍); a class teacher without
        # it is told whom to ask rather than shown a link that would be refused.
        "can_change": user.has_right(Right.REGISTRY_EDIT),
        "csrf_token": context.get("csrf_token"),
    }
