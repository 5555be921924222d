from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from tenant_apps.registry.models import SchoolClass, Student


def registry_counts() -> dict[str, int]:
    """Headline numbers of the current school, in one query per table."""
    students = Student.objects.filter(status=Student.Status.STUDYING).aggregate(
        students=Count("id"),
        male=Count("id", filter=Q(sex=Student.Sex.MALE)),
        female=Count("id", filter=Q(sex=Student.Sex.FEMALE)),
    )
    return {**students, "classes": SchoolClass.objects.count()}


def class_list() -> QuerySet[SchoolClass]:
    return SchoolClass.objects.annotate(
        student_count=Count("students", filter=Q(students__status=Student.Status.STUDYING))
    ).order_by("stage", "entry_year", "number")


def student_list(*, search: str = "", class_id: int | None = None) -> QuerySet[Student]:
    qs = Student.objects.select_related("school_class")
    if class_id:
        qs = qs.filter(school_class_id=class_id)
    if search:
        qs = qs.filter(Q(name__contains=search) | Q(id_number=search.upper()))
    return qs.order_by("school_class__class_no", "number_in_class")
