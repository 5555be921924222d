"""The national check's results inside one school, for the bureau's verification import
(bureau.verification): plan (reads) and apply (writes, in the caller's transaction).
Rows and outcomes are frozen dataclasses (registry.verification.rows). Also the school's
deleted records as the county sees them, masked (domain §3.4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from common.actor import Actor
from tenant_apps.registry.verification.rows import (
    FAILURE_KINDS,
    KIND_LABELS,
    PASSED,
    PROBLEM,
    SKIP,
    VERIFY,
    CheckOutcome,
    CheckRow,
)
from tenants.context import school_context

__all__ = [
    "FAILURE_KINDS",
    "KIND_LABELS",
    "PASSED",
    "PROBLEM",
    "SKIP",
    "VERIFY",
    "CheckOutcome",
    "CheckRow",
    "DeletedRecord",
    "deleted_records",
    "national_check_apply",
    "national_check_plan",
]


def national_check_plan(*, schema_name: str, rows: Sequence[CheckRow]) -> list[CheckOutcome]:
    """What each row naming a record of the school would do; rows naming none are absent."""
    from tenant_apps.registry.verification.services import plan

    with school_context(schema_name):
        return plan(rows)


def national_check_apply(
    *, schema_name: str, rows: Sequence[CheckRow], actor: Actor
) -> list[CheckOutcome]:
    """Apply the rows to the school's records (no transaction of its own: the bureau's
    confirm spans every school of the file)."""
    from tenant_apps.registry.facade.move import checkpoint
    from tenant_apps.registry.verification.services import apply

    with school_context(schema_name):
        outcomes = apply(rows, actor=actor)
        checkpoint("national_check_after_school")
        return outcomes


@dataclass(frozen=True)
class DeletedRecord:
    """A deleted record of a school as its county sees it (domain §3.4: "county and
    school still see the deleted data"): masked name and ID, never the full values."""

    student_uuid: str
    class_name: str
    name: str  # 张*三
    id_number: str  # 4301**********123X
    national_number: str  # masked as well
    reason: str
    deleted_at: dt.datetime | None
    deleted_by: str


DELETED_SHOWN = 500


def deleted_records(*, schema_name: str) -> tuple[int, list[DeletedRecord]]:
    """The school's deleted records, newest deletion first (at most DELETED_SHOWN), and
    how many there are in all."""
    from django.db.models import OuterRef, Subquery

    from common.masking import mask_id_number, mask_name, mask_national_number
    from tenant_apps.registry.models import Student, StudentEvent

    last = StudentEvent.objects.filter(
        student_id=OuterRef("pk"), to_state=Student.Audit.DELETED
    ).order_by("-at")
    with school_context(schema_name):
        qs = Student.objects.filter(audit_state=Student.Audit.DELETED)
        total = qs.count()
        rows = list(
            qs.select_related("school_class")
            .annotate(
                deleted_at=Subquery(last.values("at")[:1]),
                deleted_by=Subquery(last.values("actor")[:1]),
            )
            .order_by("-deleted_at", "-pk")[:DELETED_SHOWN]
        )
        return total, [
            DeletedRecord(
                student_uuid=str(s.identifier),
                class_name=s.school_class.name,
                name=mask_name(s.name),
                id_number=mask_id_number(s.id_number),
                national_number=mask_national_number(s.national_number),
                reason=s.deleted_reason,
                deleted_at=s.deleted_at,
                deleted_by=s.deleted_by or "",
            )
            for s in rows
        ]
