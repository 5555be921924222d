"""URL parameters of 教师信息管理: a teacher of school A named like the sentinel student,
so a page or answer of A's teachers that reaches another school shows up."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"teacher_id": "int"}


def values(world: Any) -> dict[str, str]:
    from conftest import SENTINEL_STUDENT
    from tenant_apps.registry.models import Teacher
    from tenants.context import school_context

    with school_context(world.a.schema):
        teacher, _ = Teacher.objects.get_or_create(
            staff_no="T-SENTINEL", defaults={"name": SENTINEL_STUDENT, "sex": "1"}
        )
        return {"teacher_id": str(teacher.pk)}
