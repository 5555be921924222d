"""{% student_marks student %}: the read-only marks section of a student's page, so the
registry's page needs one line and no knowledge of the grades module."""

from __future__ import annotations

from typing import Any

from django import template

from tenant_apps.grades.selectors import student_marks as marks_of

register = template.Library()


@register.inclusion_tag("grades/student_marks.html")
def student_marks(student: Any) -> dict[str, Any]:
    return {"groups": marks_of(student_id=student.pk)}
