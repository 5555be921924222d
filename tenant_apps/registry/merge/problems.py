"""The 问题学籍 a merge settles, and their return on undo.

Once two records are one, the tombstone's open problems have nothing left to handle
(its record is gone), and the survivor's duplicate problems that named only the merged
record are answered by the merge itself. Left open, both would keep the county's and
the school's queues pointing at a record no one can act on. Problems waiting for the
county's verdict on a 佐证 stay as they are: that decision is the county's, in its queue.

The rows are returned exactly as they were, so the merge's undo puts them back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from tenant_apps.registry.models import ProblemRecord, Student

RESOLUTION = "合并"
DUPLICATE_KINDS = (ProblemRecord.Kind.DUPLICATE, ProblemRecord.Kind.SUSPECTED)


def _about_only(problem: ProblemRecord, other: uuid.UUID) -> bool:
    others = problem.others or []
    return bool(others) and all(str(o.get("student_uuid")) == str(other) for o in others)


def problems_settle(
    *, student_pk: int, reason: str, about: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Resolve the record's open problems (with `about`: only its duplicate problems
    whose other records are all that one) in the current school; return their rows as
    they were."""
    from tenant_apps.registry.merge.services import _rows

    candidates = ProblemRecord.objects.filter(
        student_id=student_pk, state=ProblemRecord.State.OPEN
    ).order_by("pk")
    if about is not None:
        candidates = candidates.filter(kind__in=DUPLICATE_KINDS)
        pks = [p.pk for p in candidates if _about_only(p, about)]
    else:
        pks = [p.pk for p in candidates]
    if not pks:
        return []
    before = _rows(ProblemRecord, pk__in=pks)
    ProblemRecord.objects.filter(pk__in=pks).update(
        state=ProblemRecord.State.RESOLVED,
        resolution=RESOLUTION,
        reason=reason[:300],
        resolved_at=timezone.now(),
    )
    return before


def problem_state_after(student: Student) -> dict[str, Any]:
    """The survivor's audit state once its problems are settled: a 问题学籍 draft with
    nothing left open goes back to the drafts, as resolving it by hand would."""
    if student.audit_state != Student.Audit.PROBLEM:
        return {}
    still_open = ProblemRecord.objects.filter(
        student_id=student.pk,
        state__in=[ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING],
    ).exists()
    return {} if still_open else {"audit_state": Student.Audit.DRAFT}


def problems_unsettle(rows: Iterable[Mapping[str, Any]]) -> None:
    """Put settled problems back exactly as they were (the undo)."""
    from tenant_apps.registry.merge.services import _restore_row

    for row in rows:
        _restore_row(ProblemRecord, row)
