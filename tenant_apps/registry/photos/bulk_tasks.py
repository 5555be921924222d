"""Celery entry points of 照片批量导入; they run in the school that sent them."""

from __future__ import annotations

from celery import shared_task

from common.task_options import RERUN_IF_WORKER_LOST


# Idempotent: the dry run writes nothing but its own report and staged files.
@shared_task(name="registry.photo_bulk_check", **RERUN_IF_WORKER_LOST)
def photo_bulk_check(job_id: str, upload_key: str, filename: str, username: str) -> int:
    """The dry run (registry.photos.bulk.bulk_check); the job's result link opens the
    report. An archive refused as a whole fails the job with the reason."""
    from common.exceptions import ApplicationError
    from shared_apps.jobs.progress import JobReporter
    from shared_apps.jobs.services import job_fail, job_heartbeat, job_start, job_succeed
    from tenant_apps.registry.photos import bulk

    if not job_start(job_id=job_id):
        return 0
    reporter = JobReporter(job_id)
    try:
        with job_heartbeat(job_id=job_id):
            report, key = bulk.bulk_check(
                job_id=job_id, upload_key=upload_key, filename=filename, progress=reporter
            )
    except ApplicationError as exc:
        job_fail(job_id=job_id, message=bulk.MSG_CHECK_FAILED.format(reason=exc.message))
        return 0
    except Exception:
        job_fail(job_id=job_id, message=bulk.MSG_CHECK_FAILED.format(reason="请稍后重试。"))
        raise
    finally:
        reporter.close()
    counts = report.counts
    job_succeed(
        job_id=job_id,
        message=bulk.MSG_CHECK_DONE.format(total=counts["total"], matched=counts["matched"]),
        result_url=bulk.report_link(job_id=job_id, report_key=key),
    )
    return int(counts["total"])


# Safe to run again: a failed run leaves no row and no file (bulk.bulk_store).
@shared_task(name="registry.photo_bulk_store", **RERUN_IF_WORKER_LOST)
def photo_bulk_store(job_id: str, token: str, owner_id: int, username: str, name: str) -> int:
    """确认导入 (registry.photos.bulk.bulk_store), with progress on the job."""
    from django.db import connection

    from common.actor import Actor
    from shared_apps.jobs.progress import JobReporter
    from shared_apps.jobs.services import job_fail, job_heartbeat, job_start, job_succeed
    from tenant_apps.registry.photos import bulk

    if not job_start(job_id=job_id):
        return 0
    reporter = JobReporter(job_id)
    actor = Actor(username=username, name=name, schema=str(connection.schema_name))
    try:
        with job_heartbeat(job_id=job_id):
            stored, skipped = bulk.bulk_store(
                token=token, owner_id=owner_id, actor=actor, progress=reporter
            )
    except Exception:
        job_fail(job_id=job_id, message=bulk.MSG_STORE_FAILED)
        raise
    finally:
        reporter.close()
    message = bulk.MSG_STORE_DONE.format(n=stored)
    if skipped:
        message += bulk.MSG_ROSTER_CHANGED.format(n=skipped)
    job_succeed(job_id=job_id, message=message)
    return stored
