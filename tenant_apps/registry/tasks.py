"""Celery entry points of the registry; they run in the school that sent them."""

from __future__ import annotations

import logging

from celery import shared_task

from common.task_options import RERUN_IF_WORKER_LOST

logger = logging.getLogger(__name__)


# Idempotent: the dry run writes nothing but its own batch's report and pending rows, so
# a run whose pool process died is sent again (twice at most); the last loss fails the
# job and resets the batch (jobs.tasks). A message delivered again after the job ended
# (its whole worker died and the sweep failed it) does nothing.
@shared_task(name="registry.import_validate", **RERUN_IF_WORKER_LOST)
def import_validate_task(batch_id: str, job_id: str) -> dict[str, int]:
    from common.exceptions import ApplicationError
    from shared_apps.jobs.services import job_abandon, job_progress, job_start, job_succeed
    from tenant_apps.registry.imports.pipeline import MSG_VALIDATE_FAILED, import_validate

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    if not job_start(job_id=job_id):
        return {}
    try:
        batch = import_validate(batch_id=batch_id, progress=progress)
    except ApplicationError as exc:
        job_abandon(job_id=job_id, message=exc.message)
        return {}
    except Exception:
        job_abandon(job_id=job_id, message=MSG_VALIDATE_FAILED)
        raise
    c = batch.counts
    job_succeed(
        job_id=job_id,
        result_url=f"/registry/imports/{batch_id}/",
        message=f"共 {c['total']} 行：可导入 {c['valid']} 行，有误 {c['invalid']} 行，"
        f"疑似重复 {c['suspected']} 行。请查看报告后确认。",
    )
    if c.get("invalid") or c.get("normalised_total"):
        # The report is ready and shown; the annotated workbook follows (see
        # imports.import_annotate). In eager mode this runs inline, right here.
        import_annotate_task.delay(batch_id)
    return {k: v for k, v in c.items() if isinstance(v, int)}


# Idempotent: a marked copy is made only while `annotated_key` is empty.
@shared_task(name="registry.import_annotate", **RERUN_IF_WORKER_LOST)
def import_annotate_task(batch_id: str) -> bool:
    """The upload with its problem cells marked. The report page and the API offer the
    download only once `annotated_key` is set, so the report never waits for this."""
    from tenant_apps.registry.imports.columns import UploadRejected
    from tenant_apps.registry.imports.pipeline import import_annotate

    try:
        return import_annotate(batch_id=batch_id)
    except UploadRejected:
        # The file was read for the report, so this is unexpected; without the marked
        # copy the report still lists every error.
        logger.warning("import %s: the annotated workbook could not be made", batch_id)
        return False


# Idempotent: the check is one transaction that marks the batch checked (near_check).
@shared_task(name="registry.import_near_check", **RERUN_IF_WORKER_LOST)
def import_near_check_task(batch_id: str) -> int | None:
    """The near-key 查重 of a confirmed import (imports.near_check), queued at its commit."""
    from tenant_apps.registry.imports.near_check import import_near_check

    return import_near_check(batch_id=batch_id)


@shared_task(name="registry.problems_flag")
def problems_flag_task(items: list[dict[str, object]]) -> int:
    from tenant_apps.registry.problems.services import problems_flag

    return problems_flag(items=items)


# Safe to run again: the write is one transaction that re-plans and acts only while the
# rollover is still 执行中 (row lock), so a run lost before its commit wrote nothing and
# one lost after it finds the rollover applied and only reports it.
@shared_task(name="registry.rollover_run", **RERUN_IF_WORKER_LOST)
def rollover_run_task(rollover_id: int, job_id: str, actor: dict[str, str]) -> dict[str, int]:
    """升级与毕业 of one school (registry.lifecycle.rollover), with progress on the job."""
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from shared_apps.jobs.progress import JobReporter
    from shared_apps.jobs.services import job_fail, job_start, job_succeed
    from tenant_apps.registry.lifecycle.rollover import rollover_run

    if not job_start(job_id=job_id):
        return {}
    # The write is one transaction: the reporter's own connection lets the page see it move.
    progress = JobReporter(job_id)
    try:
        done = rollover_run(rollover_id=rollover_id, actor=Actor(**actor), progress=progress)
    except ApplicationError as exc:
        job_fail(job_id=job_id, message=exc.message)
        return {}
    except Exception:
        job_fail(job_id=job_id, message="升级与毕业执行失败，未作任何修改。")
        raise
    finally:
        progress.close()
    c = done.counts
    job_succeed(
        job_id=job_id,
        result_url="/registry/rollover/",
        message=f"毕业 {c.get('graduated', 0)} 人，升级 {c.get('promoted', 0)} 人。"
        "请核对后确认；确认前可以撤销。",
    )
    return {k: int(v) for k, v in c.items()}


@shared_task(name="registry.students_bulk_run", soft_time_limit=3300, time_limit=3600)
def students_bulk_run(
    job_id: str, action: str, flt: dict[str, object], reason: str, actor: dict[str, str]
) -> int:
    """全选符合条件的学生 (registry.students.bulk): the action over every matching student of
    this school, with progress on the job; the job ends saying how many were moved."""
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from shared_apps.jobs.services import job_fail, job_progress, job_succeed
    from tenant_apps.registry.students.bulk import StudentFilter
    from tenant_apps.registry.students.bulk import students_bulk_run as bulk_run

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    try:
        done = bulk_run(
            action=action,
            flt=StudentFilter.of(flt),
            reason=reason,
            actor=Actor(**actor),
            progress=progress,
        )
    except ApplicationError as exc:
        job_fail(job_id=job_id, message=exc.message)
        return 0
    except Exception:
        job_fail(job_id=job_id, message="批量处理中断，已处理的学生保持不变，请稍后重试。")
        raise
    job_succeed(job_id=job_id, message=done.message)
    return done.done


# Idempotent: it writes nothing but its own file, so a lost run is simply made again.
@shared_task(name="registry.students_export_run", **RERUN_IF_WORKER_LOST)
def students_export_run(
    job_id: str, filters: dict[str, object], full: bool, class_ids: list[int] | None
) -> int:
    """The roster as .xlsx (registry.students.exports.export_run), with progress on the job; the
    job's result link opens the file for its owner."""
    from shared_apps.jobs.services import job_fail, job_progress, job_start, job_succeed
    from tenant_apps.registry.students.exports import MSG_EXPORT_DONE, export_link, export_run

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    if not job_start(job_id=job_id):
        return 0
    try:
        key, rows = export_run(
            job_id=job_id, filters=filters, full=full, class_ids=class_ids, progress=progress
        )
    except Exception:
        job_fail(job_id=job_id, message="导出失败，请稍后重试。")
        raise
    job_succeed(
        job_id=job_id,
        message=MSG_EXPORT_DONE.format(n=rows),
        result_url=export_link(job_id=job_id, key=key),
    )
    return rows


@shared_task(name="registry.rollover_page_warm")
def rollover_page_warm_task() -> int:
    """Nightly, per school (beat fans out): the 升级与毕业 page's cache made ahead."""
    from tenant_apps.registry.lifecycle.rollover import rollover_page_warm

    return rollover_page_warm()


# Idempotent: it writes nothing but its own file, so a lost run is simply made again.
@shared_task(name="registry.photos_export_run", **RERUN_IF_WORKER_LOST)
def photos_export_run(job_id: str) -> int:
    """The national photo package (registry.photos.exports), with progress on the job;
    the job's result link opens the ZIP for its owner."""
    from shared_apps.jobs.services import job_fail, job_progress, job_start, job_succeed
    from tenant_apps.registry.photos.exports import MSG_DONE, export_link, export_run

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    if not job_start(job_id=job_id):
        return 0
    try:
        key, photos = export_run(progress=progress)
    except Exception:
        job_fail(job_id=job_id, message="导出失败，请稍后重试。")
        raise
    job_succeed(
        job_id=job_id,
        message=MSG_DONE.format(n=photos),
        result_url=export_link(job_id=job_id, key=key),
    )
    return photos
