"""URL parameters of the photo ZIP import and the public family upload link."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"family_token": "str"}


def values(world: Any) -> dict[str, str]:
    """A live family upload link of school A's sentinel pupil."""
    from common.actor import Actor
    from conftest import SENTINEL_STUDENT
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.photos.family import family_links_issue
    from tenants.context import school_context

    with school_context(world.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        issued = family_links_issue(
            actor=Actor("registrar", "学籍管理员", world.a.schema),
            student_ids=[str(student.identifier)],
        )
    return {"family_token": issued[0].token}
