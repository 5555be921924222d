"""URL parameters of in-school status changes (registry.changes.views, change_apis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

PARAM_KINDS = {"change_id": "int"}


def values(world: Any) -> dict[str, str]:
    """A closed status change of school A's sentinel student (closed, so it blocks
    no other business the isolation walk or other fillers set up)."""
    from conftest import SENTINEL_STUDENT
    from tenant_apps.registry.models import StatusChange, Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        change = StatusChange.objects.create(
            student=student,
            kind=StatusChange.Kind.SUSPEND,
            change_date=dt.date(2026, 9, 1),
            reason_code="01",
            leave_from=dt.date(2026, 9, 1),
            leave_to=dt.date(2027, 1, 31),
            from_status=Student.Status.STUDYING,
            to_status=Student.Status.SUSPENDED,
            state=StatusChange.State.REJECTED,
            created_by="registrar",
        )
    return {"change_id": str(change.pk)}
