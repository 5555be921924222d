from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from shared_apps.jobs.models import Job


def job_list_for(*, user_id: int) -> QuerySet[Job]:
    """The caller's own jobs on this host: scoped by schema and owner, never wider."""
    return Job.objects.filter(owner_schema=connection.schema_name, owner_id=user_id)


def job_get_for(*, user_id: int, job_id: str) -> Job | None:
    return job_list_for(user_id=user_id).filter(pk=job_id).first()
