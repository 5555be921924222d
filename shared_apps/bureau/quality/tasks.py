"""Celery entry points of 数据质量. Each runs in the public schema whatever school sent it
(a 人籍一致 confirmation queues its refresh from the school's schema), and each school is
refreshed by its own task, so one slow or failing school delays no other."""

from __future__ import annotations

from celery import shared_task

from common.task_options import RERUN_IF_WORKER_LOST
from tenants.context import school_context


@shared_task(
    name="bureau.quality_refresh_school",
    soft_time_limit=1700,
    time_limit=1800,
    **RERUN_IF_WORKER_LOST,
)
def quality_refresh_school(school_id: int) -> int:
    """Recompute one school's quality figures into bureau.SchoolQuality."""
    from shared_apps.bureau.quality.services import quality_refresh

    with school_context("public"):
        return quality_refresh(school_id=school_id)


@shared_task(name="bureau.quality_sweep")
def quality_sweep() -> int:
    """Every five minutes (beat): refresh the schools whose public traces moved since
    their last refresh (bureau.quality.services.school_signatures); no school schema is
    entered to find them."""
    from shared_apps.bureau.quality.services import quality_refresh_queue, stale_schools

    with school_context("public"):
        stale = stale_schools()
        quality_refresh_queue(stale)
    return len(stale)


@shared_task(name="bureau.quality_nightly")
def quality_nightly() -> int:
    """Nightly (beat, 00:40): every serving school, for what moves with the calendar only
    (ages, deadlines passing)."""
    from shared_apps.bureau.quality.services import quality_refresh_queue
    from tenants.models import School

    with school_context("public"):
        ids = list(School.objects.serving().values_list("pk", flat=True))
        quality_refresh_queue(ids)
    return len(ids)
