"""URL parameters of 照片采集 (registry.photos): a pending photo of school A's sentinel
pupil, so the walk aims school B's users (and the access matrix every role) at A's
preview and decision."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"photo_id": "int"}


def values(world: Any) -> dict[str, str]:
    from conftest import SENTINEL_STUDENT
    from tenant_apps.registry.models import Student, StudentPhoto
    from tenants.context import school_context

    with school_context(world.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        photo = StudentPhoto.objects.create(
            student=student,
            source=StudentPhoto.Source.UPLOAD,
            file_key="photos/isolation/photo.jpg",
            bytes=1,
            created_by="registrar",
        )
    return {"photo_id": str(photo.pk)}
