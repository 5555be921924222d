"""Reads of the 问题学籍 records (the list the registrar works through)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from tenant_apps.registry.models import ProblemRecord, Student


def problem_list(*, open_only: bool = True) -> QuerySet[ProblemRecord]:
    qs = ProblemRecord.objects.select_related("student", "student__school_class").prefetch_related(
        "evidence"
    )
    if open_only:
        qs = qs.filter(state__in=[ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING])
    return qs


LOW_PRIORITY_SHOWN = 50


@dataclass(frozen=True)
class LowPriority:
    """One record of this school with low-priority matches elsewhere (masked others)."""

    student: Student
    others: list[dict[str, str]]


def low_priority_list(*, school_id: int) -> tuple[list[LowPriority], int]:
    """The low-priority list (低优先级) of the school as the last nightly 查重 left it
    (student_index.tasks.low_priority_store): records alike to others only weakly (a name
    one character apart, or alike but with two different ID numbers), which never block
    and open no 问题学籍. The first LOW_PRIORITY_SHOWN records, and how many there are.
    Computing it on the page would be one look-up over all the school's keys: 0.7 s for
    2,000 pupils (bench/RESULTS.md), too slow for a big school's page."""
    from django.core.cache import cache

    from shared_apps.student_index.services import Hit
    from shared_apps.student_index.tasks import low_priority_key
    from tenant_apps.registry.students.services import masked_for_hits

    items = cache.get(low_priority_key(school_id)) or []
    by_student = {
        uuid.UUID(own): [Hit(0, "low", "low", sid, uuid.UUID(u)) for sid, u in others]
        for own, others in items
    }
    shown = list(by_student)[:LOW_PRIORITY_SHOWN]
    hits = [h for u in shown for h in by_student[u]]
    summaries = masked_for_hits(hits)
    students = Student.objects.select_related("school_class").in_bulk(
        shown, field_name="identifier"
    )
    out = [
        LowPriority(
            students[u],
            [
                summaries[h.student_uuid] | {"rule": h.rule}
                for h in by_student[u]
                if h.student_uuid in summaries
            ],
        )
        for u in shown
        if u in students
    ]
    return out, len(by_student)
