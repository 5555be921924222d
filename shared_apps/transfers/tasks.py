"""Beat tasks of the business-case engine (public schema)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="transfers.escalate_overdue")
def escalate_overdue() -> int:
    from shared_apps.transfers.services import cases_escalate_overdue

    return cases_escalate_overdue()


@shared_task(name="transfers.cases_decide_run", soft_time_limit=3300, time_limit=3600)
def cases_decide_run(
    job_id: str, user_id: int, flt: dict[str, object], approve: bool, reason: str
) -> int:
    """全选符合条件的 N 件 on the bureau's case queue (transfers.bulk), with progress on
    the job; the job ends saying how many cases were decided and which were refused."""
    from accounts.models import User
    from common.exceptions import ApplicationError
    from shared_apps.jobs.services import job_fail, job_progress, job_succeed
    from shared_apps.transfers.bulk import CaseFilter
    from shared_apps.transfers.bulk import cases_decide_run as decide_run

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    user = User.objects.get(pk=user_id)
    try:
        done = decide_run(
            user=user,
            flt=CaseFilter.of(flt),
            approve=approve,
            reason=reason,
            progress=progress,
        )
    except ApplicationError as exc:
        job_fail(job_id=job_id, message=exc.message)
        return 0
    except Exception:
        job_fail(job_id=job_id, message="批量审核中断，已办理的业务保持不变，请稍后重试。")
        raise
    job_succeed(job_id=job_id, message=done.message)
    return done.done
