"""URL parameters of 营养改善计划数据核对: a staged roster of school A whose row carries the
sentinel student's name, so a page or answer of A's staged rows reaching another school
shows up."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"upload_id": "uuid", "row_id": "int"}


def values(world: Any) -> dict[str, str]:
    from conftest import SENTINEL_STUDENT
    from tenant_apps.rosters.models import RosterSource, RosterUpload, StagedRow
    from tenants.context import school_context

    with school_context(world.a.schema):
        source, _ = RosterSource.objects.get_or_create(kind=RosterSource.Kind.NUTRITION)
        upload = RosterUpload.objects.filter(filename="哨兵名册.xlsx").first()
        if upload is None:
            upload = RosterUpload.objects.create(
                source=source,
                filename="哨兵名册.xlsx",
                fmt="xlsx",
                file_key="",
                headers=["学生姓名"],
                counts={"mapping": ["name"], "total": 1, "ready": 0},
                created_by="registrar",
            )
            StagedRow.objects.create(
                upload=upload,
                row_no=2,
                raw=[SENTINEL_STUDENT],
                cells={"name": SENTINEL_STUDENT},
                state=StagedRow.State.INVALID,
            )
        row = upload.rows.get()
        return {"upload_id": str(upload.pk), "row_id": str(row.pk)}
