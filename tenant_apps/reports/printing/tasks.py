"""Celery entry point of the print centre; it runs in the school that sent it."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from common.task_options import RERUN_IF_WORKER_LOST


# Idempotent: it writes nothing but its own file, so a lost run is simply made again.
@shared_task(name="reports.print_batch_run", **RERUN_IF_WORKER_LOST)
def print_batch_run(
    job_id: str,
    target: dict[str, Any],
    fmt: str,
    full: bool,
    school_name: str,
    user_id: int,
    base: str = "",
) -> int:
    """A large print batch (reports.printing.services.print_run) with progress on the job;
    the job's result link opens the file for its owner."""
    from accounts.models import User
    from shared_apps.jobs.services import job_fail, job_progress, job_start, job_succeed
    from tenant_apps.reports.printing.selectors import DOCUMENTS, Target
    from tenant_apps.reports.printing.services import MSG_DONE, MSG_FAILED, print_link, print_run

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    if not job_start(job_id=job_id):
        return 0
    try:
        the_target = Target(**target)
        # The owner's classes as they are now: a right removed meanwhile narrows the file.
        user = User.objects.get(pk=user_id)
        key, rows = print_run(
            target=the_target,
            fmt=fmt,
            full=full,
            school_name=school_name,
            user=user,
            progress=progress,
            base=base,
        )
    except Exception:
        job_fail(job_id=job_id, message=MSG_FAILED)
        raise
    job_succeed(
        job_id=job_id,
        message=MSG_DONE.format(document=DOCUMENTS[the_target.document], n=rows),
        result_url=print_link(job_id=job_id, key=key),
    )
    return rows
