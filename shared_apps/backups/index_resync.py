"""After a restore, the public student index is made to mirror the restored school
(the school is read through the registry's facade)."""

from __future__ import annotations

from django.db import transaction

from shared_apps.backups.base import MSG_REINDEXED, Progress
from tenants.context import school_context


def _index_resync(*, school_id: int, schema: str, progress: Progress | None = None) -> None:
    """Make the public student index mirror the restored students of the school.
    Re-hashing every student is most of a restore's time: `progress` hears 85 → 95 %
    about ten times on the way."""
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.facade import index_records

    def heard(n: int, total: int) -> None:
        if progress:
            progress(85 + 10 * n // total, MSG_REINDEXED.format(n=n, total=total))

    records = index_records(schema_name=schema, on_progress=heard)
    with school_context("public"), transaction.atomic():
        IndexEntry.objects.filter(school_id=school_id).exclude(
            student_uuid__in=[r.student_uuid for r in records]
        ).delete()
        index_upsert(school_id=school_id, records=records)
