"""URL parameters of 师训平台教师名单核对: a staged teacher export of school A whose row
carries the sentinel name, so a page of A's staged teachers reaching another school
shows up."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"teachers_upload_id": "uuid", "teachers_row_id": "int"}


def values(world: Any) -> dict[str, str]:
    from conftest import SENTINEL_STUDENT
    from tenant_apps.rosters.models import RosterSource, RosterUpload, StagedRow
    from tenants.context import school_context

    with school_context(world.a.schema):
        source, _ = RosterSource.objects.get_or_create(kind=RosterSource.Kind.TEACHERS)
        upload = RosterUpload.objects.filter(filename="哨兵教师名单.xlsx").first()
        if upload is None:
            upload = RosterUpload.objects.create(
                source=source,
                filename="哨兵教师名单.xlsx",
                fmt="xlsx",
                file_key="",
                headers=["姓名"],
                counts={"mapping": ["name"], "total": 1, "ready": 0},
                created_by="admin",
            )
            StagedRow.objects.create(
                upload=upload,
                row_no=2,
                raw=[SENTINEL_STUDENT],
                cells={"name": SENTINEL_STUDENT},
                state=StagedRow.State.INVALID,
            )
        row = upload.rows.get()
        return {"teachers_upload_id": str(upload.pk), "teachers_row_id": str(row.pk)}
