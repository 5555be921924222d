"""Counts of one grade's classes inside one school, for the bureau's drill-down
(grade → class). Counts only, never a name: the bureau reads this through the facade,
inside that one school's context, and gets frozen values back."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.context import school_context


@dataclass(frozen=True)
class ClassCount:
    """One class of a grade: 在读 by sex (registry.counts.IN_SCHOOL) and the records
    counted apart (未注册: draft, under audit, 问题学籍)."""

    class_no: str
    name: str
    male: int
    female: int
    in_school: int
    pending: int


def grade_class_counts(*, schema_name: str, stage: str, entry_year: int) -> list[ClassCount]:
    """Every class of the grade in class order, zeros included (a class with no pupil
    yet is still a class of the grade)."""
    from django.db.models import Count, Q

    from tenant_apps.registry import counts
    from tenant_apps.registry.models import SchoolClass, Student

    male, female = Student.Sex.MALE.value, Student.Sex.FEMALE.value
    with school_context(schema_name):
        classes = (
            SchoolClass.objects.filter(stage=stage, entry_year=entry_year)
            .annotate(
                male=Count(
                    "students", filter=counts.in_school_q("students__") & Q(students__sex=male)
                ),
                female=Count(
                    "students", filter=counts.in_school_q("students__") & Q(students__sex=female)
                ),
                in_school=Count("students", filter=counts.in_school_q("students__")),
                pending=Count(
                    "students", filter=Q(students__audit_state__in=counts.PENDING_STATES)
                ),
            )
            .order_by("number")
        )
        return [
            ClassCount(c.class_no, c.name, c.male, c.female, c.in_school, c.pending)
            for c in classes
        ]
