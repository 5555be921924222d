"""The 问题学籍 page's 低优先级疑似重复 section in a real browser, at 1280 px and 360 px: the
school's own pupil in full, the other school's record masked, nothing that blocks."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World, login
from tenant_apps.registry.tests.test_dedup_near import _pair, _post
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser]
FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


def test_the_low_priority_list_reads_at_desktop_and_phone_width(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    first, second = _pair(second_id=True)  # two valid ID numbers: the twin guard
    try:
        _low_priority_pages(live_db, server, chromium_browser, first, second)
    finally:
        _cleanup(live_db)


def _cleanup(world: World) -> None:
    """live_db keeps what a test writes: the pair would be counted by later browser tests."""
    from shared_apps.student_index.services import index_remove
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    for school in (world.a, world.b):
        with school_context(school.schema):
            made = Student.objects.filter(name__in=["张芳林", "张荒林"])
            uuids = list(made.values_list("identifier", flat=True))
            made.delete()  # history and family go with them (CASCADE)
        connection.set_schema_to_public()
        index_remove(student_uuids=uuids)


def _low_priority_pages(world: World, server: int, chromium_browser, first, second) -> None:  # noqa: F811
    from shared_apps.student_index.selectors import duplicate_flags
    from shared_apps.student_index.tasks import low_priority_store

    live_db = world
    assert _post(login(live_db.b.host, "registrar"), first).status_code == 201
    assert _post(login(live_db.a.host, "registrar"), second).status_code == 201
    schemas = {live_db.a.id: live_db.a.schema, live_db.b.id: live_db.b.schema}
    low_priority_store(duplicate_flags(school_ids=list(schemas), low=True), schemas)
    connection.set_schema_to_public()

    url = f"http://{live_db.a.host}:{server}"
    for label, width, height in (("desktop", 1280, 900), ("360", 360, 780)):
        context = chromium_browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        try:
            _login(page, url, "registrar")
            page.goto(f"{url}/registry/problems/")
            section = page.locator("#low-priority")
            text = section.inner_text()
            assert "张荒林" in text  # the school's own pupil
            assert "张*林" in text  # the other school's record, masked
            assert "张芳林" not in page.content()
            assert str(first["id_number"]) not in page.content()
            assert page.evaluate(FITS_JS)
            section.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"problems-low-{label}.png"), full_page=True)
        finally:
            context.close()
