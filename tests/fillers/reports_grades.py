"""URL parameters of tenant_apps.reports.gradestats (成绩统计): a statistics table's key and
a student of school A whose mark sheet is asked for (the sentinel student; the class is
school_admin's class_id, class 2024101)."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"stats_table": "str", "mark_student_id": "int"}


def values(world: Any) -> dict[str, str]:
    from conftest import SENTINEL_STUDENT
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        return {"stats_table": "course", "mark_student_id": str(student.pk)}
