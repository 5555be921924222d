"""Reads of 关键数据变更 for the pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tenant_apps.registry.models import KeyDataChange


def keydata_list(*, state: str = "", search: str = "") -> QuerySet[KeyDataChange]:
    qs = KeyDataChange.objects.select_related("student", "student__school_class")
    if state:
        qs = qs.filter(state=state)
    if search:
        qs = qs.filter(
            Q(student__name__icontains=search)
            | Q(student__national_number__icontains=search)
            | Q(case_number__icontains=search)
        )
    return qs


def keydata_get(change_id: int) -> KeyDataChange | None:
    return (
        KeyDataChange.objects.select_related("student", "student__school_class")
        .prefetch_related("evidence")
        .filter(pk=change_id)
        .first()
    )


def keydata_open_of(student_id: int) -> KeyDataChange | None:
    return KeyDataChange.objects.filter(
        student_id=student_id, state=KeyDataChange.State.OPEN
    ).first()
