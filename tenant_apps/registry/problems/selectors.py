"""Reads of the 问题学籍 records (the list the registrar works through)."""

from __future__ import annotations

from django.db.models import QuerySet

from tenant_apps.registry.models import ProblemRecord


def problem_list(*, open_only: bool = True) -> QuerySet[ProblemRecord]:
    qs = ProblemRecord.objects.select_related("student", "student__school_class").prefetch_related(
        "evidence"
    )
    if open_only:
        qs = qs.filter(state__in=[ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING])
    return qs
