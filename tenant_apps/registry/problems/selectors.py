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
# The list is one set-based look-up over all the school's keys: seconds for a big school,
# so it is kept for a while; any write to the school's entries changes the cache key.
LOW_PRIORITY_CACHE_SECONDS = 600


@dataclass(frozen=True)
class LowPriority:
    """One record of this school with low-priority matches elsewhere (masked others)."""

    student: Student
    others: list[dict[str, str]]


def low_priority_list(*, school_id: int) -> tuple[list[LowPriority], int]:
    """The low-priority list (低优先级) of the school: records alike to others only weakly
    (a name one character apart, or alike but with two different ID numbers), which
    never block and open no 问题学籍. The first LOW_PRIORITY_SHOWN records, and how many
    there are."""
    from django.core.cache import cache
    from django.db.models import Count, Max

    from shared_apps.student_index.models import IndexEntry
    from shared_apps.student_index.selectors import low_priority_hits
    from shared_apps.student_index.services import Hit
    from tenant_apps.registry.students.services import masked_for_hits

    state = IndexEntry.objects.filter(school_id=school_id).aggregate(
        n=Count("pk"), at=Max("updated_at")
    )
    key = f"dedup-low:{school_id}:{state['n']}:{state['at'] and state['at'].timestamp()}"
    pairs = (
        cache.get_or_set(
            key,
            lambda: [
                (str(own), h.school_id, str(h.student_uuid), h.rule)
                for own, h in low_priority_hits(school_id=school_id)
            ],
            LOW_PRIORITY_CACHE_SECONDS,
        )
        or []
    )
    by_student: dict[uuid.UUID, list[Hit]] = {}
    for own, other_school, other, rule in pairs:
        hit = Hit(0, "low", rule, other_school, uuid.UUID(other))
        by_student.setdefault(uuid.UUID(own), []).append(hit)
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
