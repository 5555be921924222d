"""跨县联合认定 in Chromium (issue 19 point 4): the 浏阳 officer opens the joint case of a
pupil registered in both 浏阳 and 宁乡, both schools having given 佐证, and records 浏阳's
decision. At desktop width and at 360 px; screenshots in test-artifacts/ (joint-*)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("label", "viewport"),
    [("desktop", {"width": 1366, "height": 900}), ("360", {"width": 360, "height": 800})],
)
def test_the_officer_sees_both_sides_masked_and_decides(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    label: str,
    viewport: dict[str, int],
) -> None:
    from shared_apps.bureau.joint_models import JointCase
    from shared_apps.bureau.models import EvidenceReview
    from shared_apps.bureau.tests.test_joint_case import _evidence, _problem, _registered
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import ProblemRecord, Student
    from tenant_apps.registry.tests.factories import resident_id
    from tenants.context import school_context

    world = live_db
    id_number = resident_id(dt.date(2017, 10, 1), 311 if label == "360" else 313)
    a = _registered(world.a.schema, "浏览跨县", id_number)
    c = _registered(world.c.schema, "浏览跨县", id_number)
    try:
        _evidence(world.a.schema, _problem(world.a.schema, a, c))
        _evidence(world.c.schema, _problem(world.c.schema, c, a))
        context = chromium_browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        url = f"http://localhost:{server}"
        _login(page, url, world.bureau_user)
        page.goto(f"{url}/bureau/joint/")
        card = page.locator(".joint-case").first
        text = card.inner_text()
        assert "浏*跨县" not in text
        assert "浏**县" in text
        assert "待两县教育局认定" in text
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1, width
        page.screenshot(path=str(ARTIFACTS / f"joint-1-case-{label}.png"), full_page=True)
        card.locator("input[value=keep_a]").check()
        card.locator("button:has-text('提交认定')").click()
        page.wait_for_load_state()
        assert "已记录本县认定" in page.content()
        page.screenshot(path=str(ARTIFACTS / f"joint-2-decided-{label}.png"), full_page=True)
        context.close()
    finally:
        JointCase.objects.filter(student_a__in=[a.identifier, c.identifier]).delete()
        EvidenceReview.objects.filter(student_uuid__in=[a.identifier, c.identifier]).delete()
        IndexEntry.objects.filter(student_uuid__in=[a.identifier, c.identifier]).delete()
        for schema, s in ((world.a.schema, a), (world.c.schema, c)):
            with school_context(schema):
                ProblemRecord.objects.filter(student_id=s.pk).delete()
                Student.objects.filter(pk=s.pk).delete()
        connection.set_schema_to_public()
