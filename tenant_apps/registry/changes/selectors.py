"""Reads of in-school status changes (学籍异动) for the pages and the API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Q, QuerySet

from tenant_apps.registry.models import StatusChange


def actor_display(label: str) -> str:
    """ "username@schema" of a case step as people read it (accounts.people)."""
    from accounts.people import person_label

    return person_label(label)


def change_list(
    *,
    kind: str = "",
    state: str = "",
    search: str = "",
    class_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[StatusChange]:
    qs = StatusChange.objects.select_related(
        "student", "student__school_class", "from_class", "to_class"
    )
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    if class_id:
        qs = qs.filter(student__school_class_id=class_id)
    if date_from:
        qs = qs.filter(change_date__gte=date_from)
    if date_to:
        qs = qs.filter(change_date__lte=date_to)
    term = "".join(search.split())
    if term:
        qs = qs.filter(
            Q(student__name__contains=term)
            | Q(student__name_initials__startswith=term.lower())
            | Q(student__national_number=term.upper())
            | Q(case_number=term.upper())
        )
    return qs.order_by("-created_at", "-id")


def change_get(change_id: int) -> StatusChange | None:
    return (
        StatusChange.objects.select_related(
            "student", "student__school_class", "from_class", "to_class"
        )
        .prefetch_related("evidence")
        .filter(pk=change_id)
        .first()
    )


def cases_of(changes: list[StatusChange]) -> dict[uuid.UUID, Any]:
    """The public cases of listed changes, in one query (current step, deadline)."""
    from shared_apps.transfers.models import Case

    ids = [c.case_id for c in changes if c.case_id]
    return {c.pk: c for c in Case.objects.filter(pk__in=ids)}
