"""Celery entry points of the registry; they run in the school that sent them."""

from __future__ import annotations

from config.celery import app


@app.task(name="registry.import_validate", acks_late=True)
def import_validate_task(batch_id: str, job_id: str) -> dict[str, int]:
    from common.exceptions import ApplicationError
    from shared_apps.jobs.services import job_fail, job_progress, job_succeed
    from tenant_apps.registry.imports import import_validate

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    try:
        batch = import_validate(batch_id=batch_id, progress=progress)
    except ApplicationError as exc:
        job_fail(job_id=job_id, message=exc.message)
        return {}
    except Exception:
        job_fail(job_id=job_id, message="校验失败，请稍后重试。")
        raise
    c = batch.counts
    job_succeed(
        job_id=job_id,
        result_url=f"/registry/imports/{batch_id}/",
        message=f"共 {c['total']} 行：可导入 {c['valid']} 行，有误 {c['invalid']} 行，"
        f"疑似重复 {c['suspected']} 行。请查看报告后确认。",
    )
    return {k: v for k, v in c.items() if isinstance(v, int)}


@app.task(name="registry.problems_flag")
def problems_flag_task(items: list[dict[str, object]]) -> int:
    from tenant_apps.registry.problems import problems_flag

    return problems_flag(items=items)
