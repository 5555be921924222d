"""URL parameters of tenant_apps.grades: a grade-entry cell (ClassCourse) of school A in
the current term, assigned to A's subject teacher so the grid answers for that role."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"class_course_id": "int"}


def values(world: Any) -> dict[str, str]:
    from tenant_apps.grades.models import ClassCourse, Course, TeachingAssignment
    from tenant_apps.grades.terms import current_term
    from tenant_apps.registry.models import SchoolClass
    from tenants.context import school_context

    term = current_term()
    with school_context(world.a.schema):
        cell, _ = ClassCourse.objects.get_or_create(
            school_class=SchoolClass.objects.order_by("pk").first(),
            course=Course.objects.get(code="13"),
            school_year=term.school_year,
            term=term.term,
        )
        TeachingAssignment.objects.get_or_create(
            class_course=cell, defaults={"user_username": "subject"}
        )
        return {"class_course_id": str(cell.pk)}
