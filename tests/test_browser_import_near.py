"""An import in a real browser, with a real Celery worker: the dry-run report of a file
whose two rows are alike only by a near key (张芳林 / 张荒林, born a day apart) shows no
suspect; once confirmed, the report page waits for the check after the commit, reloads
by itself and says that both pupils went to 问题学籍. At 1280 px, and the result at 360."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection

from conftest import World
from tenant_apps.registry.tests.test_dedup_near import _pair
from tenant_apps.registry.tests.test_import_dry_run import _workbook
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.worker]
FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
NAMES = ["张芳林", "张荒林"]


def test_the_report_waits_for_the_near_check_and_tells_its_result(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    celery_worker_thread: None,
    tmp_path: Path,
) -> None:
    workbook = tmp_path / "学生名单.xlsx"
    workbook.write_bytes(_workbook(list(_pair())))
    try:
        _import_in_browser(live_db, server, chromium_browser, workbook)
    finally:
        _cleanup(live_db)


def _import_in_browser(world: World, server: int, chromium_browser, workbook: Path) -> None:  # noqa: F811
    url = f"http://{world.a.host}:{server}"
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        _login(page, url, "registrar")
        page.goto(f"{url}/registry/imports/")
        page.set_input_files("input[type=file]", str(workbook))
        page.get_by_role("button", name="上传并校验").click()
        page.wait_for_url(re.compile(r"/registry/imports/[0-9a-f-]+/$"))
        page.get_by_role("button", name="只导入正确的行").wait_for(timeout=30_000)
        stats = page.locator(".stats-row").inner_text()
        assert re.search(r"0\s*疑似重复", stats), "the dry run matches the exact keys only"
        report_url = page.url

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="只导入正确的行").click()
        page.get_by_role("heading", name="导入完成").wait_for()
        # The worker's check after the commit; the page reloads itself until it is done.
        page.get_by_text("导入后查重：2 名学生").wait_for(timeout=40_000)
        assert page.get_by_role("link", name="处理问题学籍").is_visible()
        page.screenshot(path=str(ARTIFACTS / "import-near-desktop.png"), full_page=True)
    finally:
        context.close()

    context = chromium_browser.new_context(viewport={"width": 360, "height": 780})
    page = context.new_page()
    try:
        _login(page, url, "registrar")
        page.goto(report_url)
        assert "导入后查重：2 名学生" in page.locator(".card.result").inner_text()
        assert page.evaluate(FITS_JS)
        page.screenshot(path=str(ARTIFACTS / "import-near-360.png"), full_page=True)
        page.goto(f"{url}/registry/problems/")
        listed = page.locator("main").inner_text()
        assert all(name in listed for name in NAMES)
    finally:
        context.close()


def _cleanup(world: World) -> None:
    """live_db keeps what a test writes: later browser tests count school A's pupils."""
    from shared_apps.jobs.models import Job
    from shared_apps.student_index.services import index_remove
    from tenant_apps.registry.models import ImportBatch, Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        made = Student.objects.filter(name__in=NAMES)
        uuids = list(made.values_list("identifier", flat=True))
        made.delete()  # history, family and problem records go with them (CASCADE)
        batches = ImportBatch.objects.filter(filename="学生名单.xlsx")
        jobs = [b.job_id for b in batches if b.job_id]
        batches.delete()
    connection.set_schema_to_public()
    index_remove(student_uuids=uuids)
    Job.objects.filter(pk__in=jobs).delete()
