"""The school administrator's start of year in Debian Chromium, at 1280 and 360 px: the
coming intake's grade in one click, a class with its 班主任 picked from the list, a wrong
class number refused beside its field, and the checklist turning that line green.
Screenshots of the classes page and the checklist go to test-artifacts/."""

from __future__ import annotations

import pytest

from conftest import World
from tenants.context import school_context
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_admin_sets_up_the_intake_and_the_checklist_follows(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    from tenant_apps.registry.classes.services import setup_year
    from tenant_apps.registry.models import Grade, SchoolClass

    year = setup_year()
    url = f"http://{live_db.a.host}:{server}"
    try:
        context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("dialog", lambda d: d.accept())
        _login(page, url, "admin")
        page.goto(f"{url}/school/setup/")
        intake = page.locator(".check-line", has_text=f"{year}级新生年级与班级已建立")
        assert "done" not in (intake.get_attribute("class") or "")
        page.screenshot(path=str(ARTIFACTS / "setup-checklist-1280-before.png"), full_page=True)

        page.click("text=年级信息")
        page.wait_for_load_state()
        with page.expect_navigation():
            page.click(f"text=新增小学{year}级")
        assert f"已建立小学{year}级" in page.locator(".flash").inner_text()

        with school_context(live_db.a.schema):
            grade_id = Grade.objects.get(stage="primary", entry_year=year).pk
        page.goto(f"{url}/school/classes/")
        page.select_option("#id_grade", value=str(grade_id))
        page.fill("#id_class_no", f"{year - 1}101")
        with page.expect_navigation():
            page.click("#add-class button[type=submit]")
        error = page.locator("#add-class .error-text").inner_text()
        assert error.startswith("班级编号：前 4 位（入学年份）应为")
        page.fill("#id_class_no", f"{year}101")
        page.select_option("#id_teacher", value="teacher")
        with page.expect_navigation():
            page.click("#add-class button[type=submit]")
        row = page.locator("tr", has_text=f"小学{year}级(01)班")
        assert "测试甲小学teacher（teacher）" in row.inner_text()
        page.screenshot(path=str(ARTIFACTS / "setup-classes-1280.png"), full_page=True)

        page.goto(f"{url}/school/setup/")
        intake = page.locator(".check-line", has_text=f"{year}级新生年级与班级已建立")
        assert "done" in (intake.get_attribute("class") or "")
        page.screenshot(path=str(ARTIFACTS / "setup-checklist-1280.png"), full_page=True)
        for name in ("info", "grades", "groups"):
            page.goto(f"{url}/school/{name}/")
            page.screenshot(path=str(ARTIFACTS / f"setup-{name}-1280.png"), full_page=True)
        context.close()

        narrow = chromium_browser.new_context(viewport={"width": 360, "height": 740})
        phone = narrow.new_page()
        _login(phone, url, "admin")
        phone.goto(f"{url}/school/classes/")
        assert phone.locator("main h1").inner_text() == "班级信息"
        # Nothing is wider than the screen except inside a scrolling table.
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width
        phone.screenshot(path=str(ARTIFACTS / "setup-classes-360.png"), full_page=True)
        phone.goto(f"{url}/school/setup/")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        phone.screenshot(path=str(ARTIFACTS / "setup-checklist-360.png"), full_page=True)
        narrow.close()
    finally:
        with school_context(live_db.a.schema):
            SchoolClass.objects.filter(entry_year=year).delete()
            Grade.objects.filter(entry_year=year).delete()
