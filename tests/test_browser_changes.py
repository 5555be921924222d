"""调班 in Chromium at 360 px: the registrar picks the kind and the target class on a phone,
another user (the school approver) approves, and the pupil is in the new class. The
留级 form shows the compulsory-education warning. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_class_change_on_a_phone(live_db: World, server: int, chromium_browser) -> None:  # noqa: F811
    from shared_apps.student_index.live import counts_refresh
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import SchoolClass, StatusChange, Student
    from tenant_apps.registry.tests.test_changes import _pupil
    from tenants.context import school_context

    world = live_db
    pupil = _pupil(world.a.schema, "调班浏览")
    with school_context(world.a.schema):
        below = SchoolClass.objects.create(
            stage="primary",
            entry_year=2025,
            number=7,
            class_no=SchoolClass.make_class_no("primary", 2025, 7),
        )
    connection.set_schema_to_public()
    url = f"http://{world.a.host}:{server}"
    try:
        context = chromium_browser.new_context(
            locale="zh-CN", viewport={"width": 360, "height": 780}
        )
        page = context.new_page()
        page.on("dialog", lambda d: d.accept())
        _login(page, url, "registrar")
        page.goto(f"{url}/registry/students/{pupil.uuid}/changes/new/?kind=REPEAT_GRADE")
        assert "义务教育阶段学校不得责令学生留级" in page.content()
        page.screenshot(path=str(ARTIFACTS / "change-repeat-360.png"), full_page=True)
        page.goto(f"{url}/registry/students/{pupil.uuid}/changes/new/?kind=CLASS_CHANGE")
        assert "审核通过即生效" in page.content()
        page.fill("#change_date", timezone.localdate().isoformat())
        page.select_option("#reason_code", label="家长申请")
        page.select_option("#target_class", label="小学2024级(01)班")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
        page.screenshot(path=str(ARTIFACTS / "change-class-360.png"), full_page=True)
        with page.expect_navigation():
            page.click("button:has-text('提交申请')")
        assert "已提交调班申请" in page.content(), page.locator(".error-text").all_inner_texts()
        context.close()

        context = chromium_browser.new_context(
            locale="zh-CN", viewport={"width": 360, "height": 780}
        )
        page = context.new_page()
        _login(page, url, "approver")
        with school_context(world.a.schema):
            change = StatusChange.objects.get(student_id=pupil.pk)
        connection.set_schema_to_public()
        page.goto(f"{url}/registry/changes/{change.pk}/")
        with page.expect_navigation():
            page.click("button:has-text('审核通过（立即生效）')")
        assert "该学籍异动已生效" in page.content()
        page.screenshot(path=str(ARTIFACTS / "change-class-done-360.png"), full_page=True)
        context.close()
        with school_context(world.a.schema):
            student = Student.objects.select_related("school_class").get(pk=pupil.pk)
            assert student.school_class.class_no == "2024101"
        connection.set_schema_to_public()
    finally:
        connection.set_schema_to_public()
        Case.objects.filter(student_uuid=pupil.uuid).delete()
        IndexEntry.objects.filter(student_uuid=pupil.uuid).delete()
        with school_context(world.a.schema):
            StatusChange.objects.filter(student_id=pupil.pk).delete()
            Student.objects.filter(pk=pupil.pk).delete()
            SchoolClass.objects.filter(pk=below.pk).delete()
            SchoolClass.objects.filter(entry_year=2024, number=9, stage="primary").delete()
        connection.set_schema_to_public()
        counts_refresh(school_ids=[world.a.id])
