"""师训平台教师名单核对 in a real browser, desktop and 360 px: the school administrator
opens it from the menu, uploads the platform's export of its own layout, corrects the
faulty rows in the grid, sees the diff with the teacher records (新增, 变更, 离开) and
confirms it; the new teachers' one-time passwords are shown once and the teacher list
has them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from common.actor import Actor
from conftest import World
from tenant_apps.rosters.tests.teacher_file import EXPECTED, SPECS, export_xlsx, records_seed
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser]
FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


def _cleanup(world: World) -> None:
    from accounts.models import User
    from tenant_apps.registry.models.teachers import Teacher
    from tenant_apps.rosters.models import RosterSource, RosterUpload
    from tenants.context import school_context

    connection.set_schema_to_public()
    with school_context(world.a.schema):
        Teacher.objects.filter(staff_no__in=SPECS).delete()
        User.objects.filter(username__in=SPECS).delete()
        RosterUpload.objects.filter(source__kind=RosterSource.Kind.TEACHERS).exclude(
            filename="哨兵教师名单.xlsx"
        ).delete()
        RosterSource.objects.filter(kind=RosterSource.Kind.TEACHERS).update(mapping={}, defaults={})
    connection.set_schema_to_public()


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1366, 900), ("360", 360, 780)])
def test_teacher_export_from_upload_to_the_teacher_records(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    tmp_path: Path,
    label: str,
    width: int,
    height: int,
) -> None:
    from tenants.context import school_context

    school = f"http://{live_db.a.host}:{server}"
    _cleanup(live_db)
    with school_context(live_db.a.schema):
        records_seed(Actor(username="admin", name="管理员", schema=live_db.a.schema))
    connection.set_schema_to_public()
    export = tmp_path / "师训平台导出.xlsx"
    export.write_bytes(export_xlsx())
    page = chromium_browser.new_context(viewport={"width": width, "height": height}).new_page()
    shot = lambda name: page.screenshot(  # noqa: E731
        path=str(ARTIFACTS / f"rosters-teachers-{name}-{label}.png"), full_page=True
    )
    try:
        _login(page, school, "admin")
        # From the menu, next to the nutrition roster's entry.
        href = page.locator("nav a", has_text="师训平台教师名单核对").first.get_attribute("href")
        assert href == "/rosters/teachers/"
        page.goto(f"{school}{href}")
        assert page.evaluate(FITS_JS)
        page.set_input_files("input[type=file]", str(export))
        with page.expect_navigation():
            page.click("form[enctype] button[type=submit]")
        assert "表头在第2行" in page.content()
        assert page.locator("strong[data-kind=gone]").inner_text() == "1"
        assert page.locator("button:has-text('确认')").last.is_disabled()
        shot("summary")
        page.click("nav.roster-tabs >> text=列对应")
        assert page.locator("select[name=col5]").input_value() == "staff_no"
        shot("mapping")
        # The grid: every faulty row corrected in place.
        page.click("nav.roster-tabs >> text=逐行核对")
        assert page.evaluate(FITS_JS)
        shot("rows")
        fixes = {
            "T101": ("id_number", SPECS["T101"].id_number),
            "T102": ("id_number", SPECS["T102"].id_number),
            "T104": ("birth_date", SPECS["T104"].birth.isoformat()),
            "T105": ("sex", SPECS["T105"].sex),
            "T107": ("id_number", SPECS["T107"].id_number),
        }
        for staff_no, (key, value) in fixes.items():
            card = page.locator(".roster-row", has_text=SPECS[staff_no].name).first
            card.locator(f"input[name=f_{key}]").fill(value)
            with page.expect_navigation():
                card.locator("button[type=submit]").click()
            assert "已改正" in page.locator(".flash").first.inner_text(), staff_no
        page.click("nav.roster-tabs >> text=差异与确认")
        for kind, n in EXPECTED.items():
            assert page.locator(f"strong[data-kind={kind}]").inner_text() == str(n)
        assert page.locator("#diff-table tr[data-kind=changed]", has_text="信息科技").count() == 1
        assert page.evaluate(FITS_JS)
        shot("diff")
        with page.expect_navigation():
            page.locator("button:has-text('确认')").last.click()
        assert page.locator("#opened-accounts code.secret").count() == EXPECTED["new"]
        assert page.evaluate(FITS_JS)
        shot("accounts")
        page.goto(f"{school}/school/teachers/?q=T10")
        assert page.locator("main", has_text=SPECS["T107"].name).count() == 1
        shot("teacher-list")
    finally:
        page.context.close()
        _cleanup(live_db)
