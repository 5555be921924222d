"""Celery entry points for backups. They load by id and call backups.services; the
services switch to public themselves, so a backup sent from a school's host (which
tenant-schemas-celery runs in that school's schema) still lands under platform/."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from common.task_options import RERUN_IF_WORKER_LOST

MSG_BACKUP_DONE = "备份完成：{size}，用时 {seconds:.1f} 秒。"
MSG_SAME_DONE = "已恢复到本校（备份时间 {at}），用时 {seconds:.1f} 秒。"
MSG_NEW_DONE = "已恢复为新学校 {host}（已停用，供核查），用时 {seconds:.1f} 秒。"
MSG_FAILED = "操作失败，请稍后重试或联系平台运营人员。"


def _reporter(job_id: str | None):  # type: ignore[no-untyped-def]
    from shared_apps.jobs.services import job_progress

    if not job_id:
        return None

    def progress(percent: int, message: str) -> None:
        job_progress(job_id=job_id, percent=percent, message=message)

    return progress


def _fail(job_id: str | None, exc: Exception) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.jobs.services import job_fail

    if job_id:
        job_fail(
            job_id=job_id, message=exc.message if isinstance(exc, ApplicationError) else MSG_FAILED
        )


@shared_task(name="backups.school_backup", **RERUN_IF_WORKER_LOST)
def school_backup_task(
    school_id: int, kind: str, created_by: str = "", job_id: str | None = None
) -> dict[str, Any]:
    """One school's dump; retrying is harmless (another dump)."""
    import time

    from django.template.defaultfilters import filesizeformat

    from shared_apps.backups.services import school_backup
    from shared_apps.jobs.services import job_succeed

    started = time.monotonic()
    try:
        backup = school_backup(
            school_id=school_id, kind=kind, created_by=created_by, progress=_reporter(job_id)
        )
    except Exception as exc:
        _fail(job_id, exc)
        raise
    seconds = time.monotonic() - started
    if job_id:
        job_succeed(
            job_id=job_id,
            message=MSG_BACKUP_DONE.format(size=filesizeformat(backup.size), seconds=seconds),
        )
    return {"backup_id": backup.pk, "key": backup.key, "size": backup.size}


@shared_task(name="backups.school_restore")
def school_restore_task(
    backup_id: int,
    target: str,
    acting_user_id: int | None,
    new_code: str = "",
    new_slug: str = "",
    new_name: str = "",
    job_id: str | None = None,
) -> dict[str, Any]:
    """Restore a backup; not retried (a half-known state is for a person to look at)."""
    from django.conf import settings
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from shared_apps.backups.services import school_restore
    from shared_apps.jobs.services import job_succeed
    from tenants.context import school_context

    try:
        acting_user = None
        if acting_user_id is not None:
            with school_context("public"):
                acting_user = User.objects.get(pk=acting_user_id, is_active=True)
        restored = school_restore(
            backup_id=backup_id,
            target=target,
            acting_user=acting_user,
            new_code=new_code,
            new_slug=new_slug,
            new_name=new_name,
            progress=_reporter(job_id),
        )
    except Exception as exc:
        _fail(job_id, exc)
        raise
    if job_id:
        if restored.target == "same":
            at = timezone.localtime(restored.backup_at).strftime("%Y-%m-%d %H:%M")
            message = MSG_SAME_DONE.format(at=at, seconds=restored.seconds)
        else:
            message = MSG_NEW_DONE.format(host=restored.host, seconds=restored.seconds)
        # same: back to the school's backups; new: the new school's page (to re-open it)
        url = reverse(
            "backups:school" if restored.target == "same" else "bureau:school_detail",
            kwargs={"school_id": restored.school_id},
            urlconf=settings.PUBLIC_SCHEMA_URLCONF,
        )
        job_succeed(job_id=job_id, message=message, result_url=url)
    return {"school_id": restored.school_id, "schema": restored.schema_name, "target": target}


@shared_task(name="backups.nightly")
def backups_nightly_task() -> dict[str, int]:
    """Beat, 02:30: one backup task per serving school (never the template), then the
    nightly backups older than BACKUP_KEEP_DAYS are pruned."""
    from shared_apps.backups.services import backups_prune
    from tenants.context import school_context
    from tenants.models import School

    with school_context("public"):
        school_ids = list(School.objects.serving().values_list("id", flat=True))
        for school_id in school_ids:
            school_backup_task.delay(school_id, "nightly")
        pruned = backups_prune()
    return {"sent": len(school_ids), "pruned": pruned}


@shared_task(name="backups.live_counts_check")
def live_counts_check_task(school_id: int) -> dict[str, Any]:
    """One school's nightly check of the bureau's live counts (index_resync)."""
    from shared_apps.backups.index_resync import live_counts_check

    return live_counts_check(school_id=school_id)


@shared_task(name="backups.live_counts_nightly")
def live_counts_nightly_task() -> dict[str, int]:
    """Beat, 03:15: one check of the live counts per serving school (never the template);
    beat runs in public, so each school is named by id."""
    from tenants.context import school_context
    from tenants.models import School

    with school_context("public"):
        school_ids = list(School.objects.serving().values_list("id", flat=True))
    for school_id in school_ids:
        live_counts_check_task.delay(school_id)
    return {"sent": len(school_ids)}


@shared_task(name="backups.index_rekey_stale")
def index_rekey_stale_task() -> int:
    """Beat, 01:10, before the 01:30 查重 recheck: entries without near keys get them."""
    import logging

    from shared_apps.backups.index_rekey import index_rekey_stale
    from tenants.context import school_context

    log = logging.getLogger(__name__)
    with school_context("public"):
        return index_rekey_stale(say=log.info)
