from __future__ import annotations

from collections.abc import Collection

from django.db.models import Count, Q, QuerySet

from tenant_apps.registry.models import SchoolClass, Student


def registry_counts() -> dict[str, int]:
    """Headline numbers of the current school, in one query per table, counted through
    registry.counts: `students`, `male`, `female` are 在读 (registered and in school);
    `pending` the records not yet registered (draft, under audit, 问题学籍), apart."""
    from tenant_apps.registry import counts

    students = Student.objects.aggregate(
        students=Count("id", filter=counts.IN_SCHOOL),
        male=Count("id", filter=counts.IN_SCHOOL & Q(sex=Student.Sex.MALE)),
        female=Count("id", filter=counts.IN_SCHOOL & Q(sex=Student.Sex.FEMALE)),
        pending=Count("id", filter=counts.PENDING),
    )
    return {**students, "classes": SchoolClass.objects.count()}


LIVE_STATES = [s for s in Student.Audit.values if s != Student.Audit.DELETED]


def student_list(
    *,
    search: str = "",
    class_id: int | None = None,
    status: str = "",
    audit_state: str = "",
    class_ids: Collection[int] | None = None,
) -> QuerySet[Student]:
    """Search by name, pinyin initials, ID number or national number; filter by class,
    status and registration state. Deleted records only when asked for explicitly.
    `class_ids` limits the list to the classes the user may see (registry.policy.rules)."""
    qs = Student.objects.select_related("school_class")
    qs = (
        qs.filter(audit_state=audit_state)
        if audit_state
        else qs.filter(audit_state__in=LIVE_STATES)
    )
    if class_ids is not None:
        qs = qs.filter(school_class_id__in=list(class_ids))
    if class_id:
        qs = qs.filter(school_class_id=class_id)
    if status:
        qs = qs.filter(status=status)
    term = "".join(search.split())
    if term:
        upper = term.upper()
        qs = qs.filter(
            Q(name__contains=term)
            | Q(name_initials__startswith=term.lower())
            | Q(id_number=upper)
            | Q(national_number=upper)
        )
    return qs.order_by("school_class__class_no", "number_in_class", "pk")


def student_get(*, identifier: str) -> Student | None:
    return (
        Student.objects.select_related("school_class")
        .prefetch_related("family", "events", "problems__evidence")
        .filter(identifier=identifier)
        .first()
    )
