"""The county's audit queue in Chromium, at a desktop width and at 360 px: the list is
masked, the name opens the record with its real values, the page never overflows the
phone's width, and a 佐证 opens with its file. Screenshots go to test-artifacts/audit-*."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World
from shared_apps.bureau.tests.test_audit_queue import _county_pending, _evidence
from tenant_apps.registry.tests.factories import valid_row
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser
SEQS = [47100, 47101, 47102]  # pupils of this file, school A; 47103 in school B


def test_queue_masked_then_opened_with_real_values(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    from shared_apps.bureau.models import EvidenceReview
    from shared_apps.student_index.services import index_remove
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    world = live_db
    uuids = _county_pending(world.a.schema, SEQS)
    b_uuids = _county_pending(world.b.schema, [47103])
    review_id = _evidence(world, b_uuids[0], days=12)
    first = valid_row(seq=SEQS[0])
    try:
        for width in (1366, 360):
            context = chromium_browser.new_context(
                locale="zh-CN", viewport={"width": width, "height": 900}
            )
            page = context.new_page()
            url = f"http://localhost:{server}"
            _login(page, url, world.bureau_user)
            page.goto(f"{url}/bureau/audit/")
            page.screenshot(path=str(ARTIFACTS / f"audit-queue-{width}.png"), full_page=True)
            body = page.content()
            assert first["id_number"] not in body
            assert first["name"] not in body
            # four registrations (three of A, one of B) with a box each; the 佐证 without
            assert page.locator("input[name=items]").count() == 4
            assert page.locator(f"a[href='/bureau/evidence/{review_id}/']").count() == 2
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            page.click(f"a[href='/bureau/audit/{world.a.id}/{uuids[0]}/']:not(.btn)")
            page.wait_for_load_state()
            page.screenshot(path=str(ARTIFACTS / f"audit-record-{width}.png"), full_page=True)
            body = page.content()
            for value in (first["name"], first["id_number"], first["m1_name"]):
                assert value in body, value
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            page.goto(f"{url}/bureau/evidence/{review_id}/")
            page.screenshot(
                path=str(ARTIFACTS / f"audit-evidence-record-{width}.png"), full_page=True
            )
            assert page.locator("a", has_text="户口簿首页.png").count() == 1
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            context.close()
    finally:
        connection.set_schema_to_public()
        EvidenceReview.objects.filter(pk=review_id).delete()
        index_remove(student_uuids=uuids + b_uuids)
        with school_context(world.a.schema):
            Student.objects.filter(identifier__in=uuids).delete()
        with school_context(world.b.schema):
            Student.objects.filter(identifier__in=b_uuids).delete()
        connection.set_schema_to_public()
