"""The progress bar of a dry run whose worker died, in Chromium: once the sweep fails
the job the bar shows the failure, the page reloads to the reset batch with its Chinese
message and 重新上传, and nothing polls the job any more (issue 11, M6)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_progress_bar_of_a_lost_dry_run_ends_failed_and_stops_polling(  # noqa: F811
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    from accounts.models import User
    from shared_apps.jobs.models import Job
    from shared_apps.jobs.services import job_create, job_progress, jobs_sweep_stale
    from tenant_apps.registry.imports.pipeline import MSG_VALIDATE_INTERRUPTED
    from tenant_apps.registry.models import ImportBatch
    from tenants.context import school_context

    with school_context(live_db.a.schema):
        owner = User.objects.get(username="registrar").pk
        job = job_create(owner_id=owner, kind="student_import", title="导入学生：lost.xlsx")
        batch = ImportBatch.objects.create(
            filename="browser-lost.xlsx",
            fmt="xlsx",
            file_key="imports/lost/upload.xlsx",
            job_id=job.pk,
            created_by="学籍员",
        )
    job_progress(job_id=job.pk, percent=10, message="已读取 4000 行，正在校验……")
    try:
        url = f"http://{live_db.a.host}:{server}"
        page = chromium_browser.new_context(locale="zh-CN").new_page()
        _login(page, url, "registrar")
        polls: list[str] = []
        page.on("request", lambda r: polls.append(r.url) if "/api/v1/jobs/" in r.url else None)
        page.goto(f"{url}/registry/imports/{batch.pk}/")
        page.wait_for_selector(".job[data-state=running]")
        assert "正在校验" in page.locator(".job-message").inner_text()

        # the worker is gone: no heartbeat since, and the beat job's sweep runs
        Job.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - dt.timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
        )
        assert jobs_sweep_stale() >= 1

        page.wait_for_selector(".flash.error", timeout=20_000)  # after the reload
        assert MSG_VALIDATE_INTERRUPTED in page.locator(".flash.error").inner_text()
        assert page.locator("a:has-text('重新上传')").count() == 1
        page.screenshot(path=str(ARTIFACTS / "import-lost-worker.png"), full_page=True)
        seen = len(polls)
        time.sleep(3)
        assert len(polls) == seen, "the page still polls a job that has ended"
    finally:
        connection.set_schema_to_public()
        Job.objects.filter(pk=job.pk).delete()
        with school_context(live_db.a.schema):
            ImportBatch.objects.filter(pk=batch.pk).delete()
        connection.set_schema_to_public()
