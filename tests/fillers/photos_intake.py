"""URL parameters of the photo ZIP import and the public family upload link."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"family_token": "str", "report_token": "str"}


def values(world: Any) -> dict[str, str]:
    """A live family upload link of school A's sentinel pupil, and a photo report link
    of a job of A's registrar (the report itself need not exist: every page refuses the
    intruder before reading it)."""
    from accounts.models import User
    from common.actor import Actor
    from conftest import SENTINEL_STUDENT
    from shared_apps.jobs.links import job_file_token
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.photos.bulk import CHECK_KIND, REPORT_SALT
    from tenant_apps.registry.photos.family import family_links_issue
    from tenants.context import school_context

    with school_context(world.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        issued = family_links_issue(
            actor=Actor("registrar", "学籍管理员", world.a.schema),
            student_ids=[str(student.identifier)],
        )
        owner = User.objects.get(username="registrar").pk
        job = Job.objects.create(
            owner_schema=world.a.schema, owner_id=owner, kind=CHECK_KIND, title="照片"
        )
    report = job_file_token(job_id=str(job.pk), key="imports/photos/x.json", salt=REPORT_SALT)
    return {"family_token": issued[0].token, "report_token": report}
