"""合并重复学籍 in Debian Chromium: the county officer compares two records of school A
(360 px and 1280 px), picks the other record's ID number, merges after the confirmation,
and undoes from the list. Screenshots go to test-artifacts/ so a person can look at them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from conftest import World
from shared_apps.transfers.tests.helpers import make_student
from tenant_apps.registry.tests.factories import resident_id
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser

BIRTH = dt.date(2018, 3, 1)


def test_the_county_merges_two_records_and_undoes_it(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser: Any,  # noqa: F811
) -> None:
    from shared_apps.student_index.services import index_remove
    from tenant_apps.registry.models import Student, StudentMerge
    from tenants.context import school_context

    a = live_db.a
    survivor = make_student(a.schema, a.id, name="合并浏览甲", id_number=resident_id(BIRTH, 51))
    merged = make_student(a.schema, a.id, name="合并浏览乙", id_number=resident_id(BIRTH, 53))
    connection.set_schema_to_public()
    bureau_url = f"http://{settings.BASE_DOMAIN}:{server}"
    url = (
        f"{bureau_url}/bureau/merge/?school={a.id}"
        f"&a={survivor.national_number}&b={merged.national_number}"
    )
    try:
        for width in (360, 1280):
            context = chromium_browser.new_context(viewport={"width": width, "height": 780})
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            _login(page, bureau_url, live_db.bureau_user)
            page.goto(url)
            page.wait_for_load_state()
            main = page.locator("main").inner_text()
            assert "合并浏览甲" not in main  # masked
            page.screenshot(path=str(ARTIFACTS / f"bureau-merge-{width}.png"), full_page=True)
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            if width == 1280:
                page.check("input[name=choice_id_number][value=merged]")
                page.check("input[name=family_from][value=merged]")
                page.fill("#id_reason", "同一学生重复建籍")
                with page.expect_navigation():
                    page.click("button.primary[type=submit]")
                assert "已合并" in page.locator("main").inner_text()
                page.screenshot(path=str(ARTIFACTS / "bureau-merge-done.png"), full_page=True)
                with school_context(a.schema):
                    s = Student.objects.get(identifier=survivor.identifier)
                    assert s.id_number == merged.id_number
                connection.set_schema_to_public()
                with page.expect_navigation():
                    page.click("td form.inline button")
                assert "已撤销合并" in page.locator("main").inner_text()
                with school_context(a.schema):
                    s = Student.objects.get(identifier=survivor.identifier)
                    assert s.id_number == survivor.id_number
                connection.set_schema_to_public()
            context.close()
    finally:
        uuids = [survivor.identifier, merged.identifier]
        with school_context(a.schema):
            StudentMerge.objects.filter(survivor_uuid__in=uuids).delete()
            Student.objects.filter(identifier__in=uuids).delete()
        connection.set_schema_to_public()
        index_remove(student_uuids=uuids)  # the live counts are re-derived too
