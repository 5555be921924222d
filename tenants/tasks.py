"""Celery entry points for schools. Tasks load by id and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from config.celery import RERUN_IF_WORKER_LOST, app

MSG_PROVISION_DONE = "学校已开通：{host}"
MSG_PROVISION_FAILED = "开通失败，请稍后重试或联系平台运营人员。"


@app.task(name="tenants.tasks.school_provision", **RERUN_IF_WORKER_LOST)
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


@app.task(name="tenants.tasks.school_stats_refresh")
def school_stats_refresh() -> dict[str, int]:
    """Runs in the schema of the school that sent it (tenant-schemas-celery header)."""
    from tenants.services import school_stats_refresh as refresh

    return refresh()


@shared_task(name="tenants.tasks.schools_fan_out")
def schools_fan_out(task_name: str) -> int:
    """Send one task per serving school. Beat runs in public, so each school is named
    explicitly; the template and suspended schools are never included."""
    from tenants.context import school_context
    from tenants.models import School

    schemas = list(School.objects.serving().values_list("schema_name", flat=True))
    for schema in schemas:
        # Sending inside the school's context makes tenant-schemas-celery stamp its schema.
        with school_context(schema):
            app.send_task(task_name)
    return len(schemas)
