"""URL parameters of the rollover and intake pages (registry.lifecycle: rollover_views,
intake_views)."""

from __future__ import annotations

import datetime as dt
from typing import Any

PARAM_KINDS = {"paper_id": "int"}


def values(world: Any) -> dict[str, str]:
    """An open temporary paper record of school A, in the sentinel's class."""
    from conftest import SENTINEL_STUDENT
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.models.lifecycle import PaperRecord
    from tenants.context import school_context

    with school_context(world.a.schema):
        klass = Student.objects.get(name=SENTINEL_STUDENT).school_class
        record = PaperRecord.objects.create(
            name=SENTINEL_STUDENT,
            sex="1",
            birth_date=dt.date(2013, 5, 1),
            school_class=klass,
            guardian_name="监护人",
            guardian_phone="13800000000",
            created_by="registrar",
        )
    return {"paper_id": str(record.pk)}
