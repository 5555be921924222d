"""URL parameters of tenant_apps.school_admin and the class API: school A's grade, user
group and class of the session's data (小学2024级, class 2024101 with the sentinel student, so a
delete aimed at it is refused and the isolation snapshot stays the same)."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"grade_id": "int", "class_id": "int", "group_id": "int"}


def values(world: Any) -> dict[str, str]:
    from accounts.models import UserGroup
    from tenant_apps.registry.models import Grade, SchoolClass
    from tenants.context import school_context

    with school_context(world.a.schema):
        klass = SchoolClass.objects.get(class_no="2024101")
        grade, _ = Grade.objects.get_or_create(stage=klass.stage, entry_year=klass.entry_year)
        # A user group of A without rights: saving it empty (the access matrix posts
        # nothing) grants nobody anything.
        group, _ = UserGroup.objects.get_or_create(name="甲校组")
        return {"grade_id": str(grade.pk), "class_id": str(klass.pk), "group_id": str(group.pk)}
