"""URL parameters of the business-case pages and APIs (shared_apps.transfers)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import World

PARAM_KINDS = {"case_id": "uuid", "student_id": "uuid"}


def values(world: World) -> dict[str, str]:
    """An open case of school A waiting in its own chain (school A, then the 浏阳
    bureau): school B and the 宁乡 bureau are no party to it."""
    from shared_apps.transfers.models import CaseKind
    from shared_apps.transfers.services import case_open, chain_in_school

    a = world.a
    case = case_open(
        kind=CaseKind.OTHER_LEAVE,
        school_id=a.id,
        student_uuid=uuid.uuid4(),
        summary={"name": "哨*乙"},
        chain=chain_in_school(a.id),
        created_by=f"registrar@{a.schema}",
    )
    return {"case_id": str(case.pk)}
