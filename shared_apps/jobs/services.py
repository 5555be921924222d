"""Job bookkeeping. Progress updates are single UPDATEs outside any task transaction so
that a polling page sees them while the work is still running."""

from __future__ import annotations

import uuid

from django.db import connection

from shared_apps.jobs.models import Job


def job_create(*, owner_id: int, kind: str, title: str) -> Job:
    return Job.objects.create(
        owner_schema=connection.schema_name, owner_id=owner_id, kind=kind, title=title
    )


def job_progress(*, job_id: uuid.UUID | str, percent: int, message: str = "") -> None:
    Job.objects.filter(pk=job_id).update(
        state=Job.State.RUNNING, percent=max(0, min(100, percent)), message=message
    )


def job_succeed(*, job_id: uuid.UUID | str, message: str, result_url: str = "") -> None:
    Job.objects.filter(pk=job_id).update(
        state=Job.State.SUCCEEDED, percent=100, message=message, result_url=result_url
    )


def job_fail(*, job_id: uuid.UUID | str, message: str) -> None:
    Job.objects.filter(pk=job_id).update(state=Job.State.FAILED, message=message)
