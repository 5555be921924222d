"""URL parameters of 关键数据变更 (registry.keydata.views)."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"keydata_id": "int"}


def values(world: Any) -> dict[str, str]:
    """A returned key-data change of school A's sentinel student (closed, so it blocks
    no other business the walk sets up)."""
    from conftest import SENTINEL_STUDENT
    from tenant_apps.registry.models import KeyDataChange, Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        change = KeyDataChange.objects.create(
            student=student,
            values={"name": [student.name, "哨兵丙丁"]},
            reason="更正",
            state=KeyDataChange.State.REJECTED,
            created_by="registrar",
        )
    return {"keydata_id": str(change.pk)}
