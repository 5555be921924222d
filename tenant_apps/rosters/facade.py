"""What the layers above may read of a school's external rosters, as frozen values.

Backups (a cross-school flow) re-derive the public nutrition claims from a restored
school's own beneficiary records; no model instance leaves the school's schema."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from tenants.context import school_context


@dataclass(frozen=True)
class BeneficiaryRecord:
    student_uuid: uuid.UUID
    since: dt.date
    until: dt.date | None
    ticked_by: str
    ended_by: str


def beneficiary_records(*, schema_name: str) -> list[BeneficiaryRecord]:
    """Every beneficiary period the school records (营养改善计划受益学生)."""
    from tenant_apps.rosters.models import Beneficiary

    with school_context(schema_name):
        rows = Beneficiary.objects.order_by("pk").values_list(
            "student_uuid", "since", "until", "ticked_by", "ended_by"
        )
        return [BeneficiaryRecord(*row) for row in rows]
