"""数据质量 and 人籍一致 in Debian Chromium: the class teacher confirms the roster on 本班学生
(360 px and 1280 px), the county officer opens the ranking with its chart, a school's
figures and one list. Screenshots go to test-artifacts/ so a person can look at them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from common.masking import mask_name
from conftest import SENTINEL_STUDENT, World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_roster_check_and_the_bureaus_quality_pages(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    monkeypatch,  # noqa: F811
) -> None:
    from shared_apps.bureau.models import QualityRefresh, SchoolQuality
    from shared_apps.bureau.quality.services import quality_refresh
    from tenant_apps.registry.facade import quality as quality_facade
    from tenant_apps.registry.models import RosterCheck, SchoolClass, Student
    from tenants.context import school_context

    # No task leaves this test: the refresh after the confirmation is run below by hand.
    monkeypatch.setattr(quality_facade, "_STALE_HANDLERS", {})
    with school_context(live_db.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        klass = student.school_class
        before = (klass.teacher_username, student.audit_state)
        SchoolClass.objects.filter(pk=klass.pk).update(teacher_username="teacher")
        Student.objects.filter(pk=student.pk).update(audit_state="registered")
    connection.set_schema_to_public()
    school_url = f"http://{live_db.a.host}:{server}"
    bureau_url = f"http://{settings.BASE_DOMAIN}:{server}"
    try:
        for width in (360, 1280):
            context = chromium_browser.new_context(viewport={"width": width, "height": 780})
            page = context.new_page()
            _login(page, school_url, "teacher")
            page.goto(f"{school_url}/registry/students/")
            page.wait_for_load_state()
            panel = page.locator(".roster-check")
            assert "本班名册在读 1 人" in panel.inner_text()
            page.screenshot(path=str(ARTIFACTS / f"roster-check-{width}.png"), full_page=True)
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            if width == 1280:
                page.fill(".roster-check input[name=note]", "全部到校")
                page.click(".roster-check button[type=submit]")
                page.wait_for_load_state()
                assert "已确认" in page.locator(".roster-check").inner_text()
                page.screenshot(path=str(ARTIFACTS / "roster-check-done.png"), full_page=True)
            context.close()

        for school in (live_db.a, live_db.b, live_db.c):
            quality_refresh(school_id=school.id)
        for width in (360, 1280):
            context = chromium_browser.new_context(viewport={"width": width, "height": 780})
            page = context.new_page()
            _login(page, bureau_url, live_db.bureau_user)
            page.goto(f"{bureau_url}/bureau/quality/")
            page.wait_for_load_state()
            page.wait_for_timeout(500)  # ECharts draws after load
            main = page.locator("main").inner_text()
            assert live_db.a.name in main
            assert live_db.c.name not in main
            page.screenshot(path=str(ARTIFACTS / f"bureau-quality-{width}.png"), full_page=True)
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            page.goto(f"{bureau_url}/bureau/quality/schools/{live_db.a.id}/")
            page.wait_for_load_state()
            page.wait_for_timeout(500)
            page.screenshot(
                path=str(ARTIFACTS / f"bureau-quality-school-{width}.png"), full_page=True
            )
            page.goto(f"{bureau_url}/bureau/quality/schools/{live_db.a.id}/missing_required/")
            page.wait_for_load_state()
            text = page.locator("main").inner_text()
            assert SENTINEL_STUDENT not in text
            assert mask_name(SENTINEL_STUDENT) in text
            page.screenshot(
                path=str(ARTIFACTS / f"bureau-quality-list-{width}.png"), full_page=True
            )
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            context.close()
    finally:
        with school_context(live_db.a.schema):
            RosterCheck.objects.filter(school_class_id=klass.pk).delete()
            SchoolClass.objects.filter(pk=klass.pk).update(teacher_username=before[0])
            Student.objects.filter(pk=student.pk).update(audit_state=before[1])
        connection.set_schema_to_public()
        SchoolQuality.objects.all().delete()
        QualityRefresh.objects.all().delete()
