"""Celery entry points of the bureau; they run in the public schema (the bureau's host)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from common.task_options import RERUN_IF_WORKER_LOST


@shared_task(name="bureau.county_decide_run", soft_time_limit=3300, time_limit=3600)
def county_decide_run(
    job_id: str,
    user_id: int,
    school_id: int | None,
    approve: bool,
    reason: str,
    min_days: int | None = None,
) -> int:
    """全选符合条件的 N 名 on the county audit queue (bureau.services), with progress on
    the job; the job ends saying how many students were decided."""
    from accounts.models import User
    from common.exceptions import ApplicationError
    from shared_apps.bureau.services import county_decide_run as decide_run
    from shared_apps.jobs.services import job_fail, job_progress, job_succeed

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    user = User.objects.get(pk=user_id)
    try:
        done = decide_run(
            user=user,
            school_id=school_id,
            approve=approve,
            reason=reason,
            progress=progress,
            min_days=min_days,
        )
    except ApplicationError as exc:
        job_fail(job_id=job_id, message=exc.message)
        return 0
    except Exception:
        job_fail(job_id=job_id, message="批量审核中断，已处理的学生保持不变，请稍后重试。")
        raise
    job_succeed(job_id=job_id, message=done.message)
    return done.done


MSG_PROVISION_DONE = "学校已开通：{host}"
MSG_PROVISION_FAILED = "开通失败，请稍后重试或联系平台运营人员。"


# Its name is the one it had in tenants.tasks (queued messages and beat keep working); it
# lives here because it reports on a job, and tenants sits below the jobs engine.
@shared_task(name="tenants.tasks.school_provision", **RERUN_IF_WORKER_LOST)
def school_provision(school_id: int, job_id: str | None = None) -> dict[str, Any]:
    """Provision one school (sent from the public schema); retrying is safe."""
    from shared_apps.jobs.services import job_fail, job_progress, job_succeed
    from tenants.models import School
    from tenants.services import school_provision as provision

    if job_id:
        job_progress(job_id=job_id, percent=10, message="正在创建学校数据库……")
    try:
        provision(school_id=school_id)
    except Exception:
        if job_id:
            job_fail(job_id=job_id, message=MSG_PROVISION_FAILED)
        raise
    host = School.objects.get(pk=school_id).get_primary_domain().domain
    if job_id:
        job_succeed(job_id=job_id, message=MSG_PROVISION_DONE.format(host=host))
    return {"school_id": school_id, "host": host}


@shared_task(name="bureau.dashboard_month_snapshot", soft_time_limit=1700, time_limit=1800)
def dashboard_month_snapshot() -> dict[str, Any]:
    """The nightly monthly snapshot of the dashboard's counts (public schema only)."""
    from shared_apps.bureau.dashboard.services import month_snapshot_take

    done = month_snapshot_take()
    return {"month": done.month.isoformat(), "rows": done.rows, "schools": done.schools}


@shared_task(name="bureau.dashboard_rollup_fold", soft_time_limit=50, time_limit=55)
def dashboard_rollup_fold() -> int:
    """Fold the county rollup's deltas in (every minute): reads stay a few thousand rows."""
    from shared_apps.bureau.dashboard.services import rollup_fold

    return rollup_fold()


@shared_task(name="bureau.dashboard_rollup_rebuild", soft_time_limit=1700, time_limit=1800)
def dashboard_rollup_rebuild() -> dict[str, int]:
    """Re-derive the dashboard's rollups from SchoolCount (nightly) and report drift."""
    import logging

    from shared_apps.bureau.dashboard.services import rollup_rebuild

    done = rollup_rebuild()
    if done.drifted:
        logging.getLogger(__name__).warning(
            "dashboard rollups had drifted from SchoolCount in %d cells; rebuilt", done.drifted
        )
    return {
        "county_cells": done.county_cells,
        "school_totals": done.school_totals,
        "drifted": done.drifted,
    }
