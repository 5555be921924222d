"""营养改善计划数据核对 in a real browser, desktop and 360 px: upload a roster of its own
layout, fill the fields it lacks once, create the class it names, correct a row in the
grid, 全部转学籍系统, and find the pupils as drafts in the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from conftest import SENTINEL_STUDENT, World
from tenant_apps.rosters.tests.roster_file import DEFAULTS, roster_xlsx
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser]
START = 35000
FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


def _cleanup(world: World) -> None:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import ImportBatch, SchoolClass, Student, StudentEvent
    from tenant_apps.rosters.models import RosterClassMatch, RosterSource, RosterUpload
    from tenants.context import school_context

    connection.set_schema_to_public()
    with school_context(world.a.schema):
        made = list(
            Student.objects.exclude(name=SENTINEL_STUDENT).values_list("identifier", flat=True)
        )
        Student.objects.exclude(name=SENTINEL_STUDENT).delete()
        StudentEvent.objects.all().delete()
        ImportBatch.objects.all().delete()
        RosterUpload.objects.exclude(filename="哨兵名册.xlsx").delete()
        RosterClassMatch.objects.all().delete()
        RosterSource.objects.update(mapping={}, defaults={})
        SchoolClass.objects.filter(class_no="2024102").delete()
    connection.set_schema_to_public()
    IndexEntry.objects.filter(student_uuid__in=made).delete()


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1366, 900), ("360", 360, 780)])
def test_nutrition_roster_from_upload_to_the_registry(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    tmp_path: Path,
    label: str,
    width: int,
    height: int,
) -> None:
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    school = f"http://{live_db.a.host}:{server}"
    roster = tmp_path / "营养改善计划名册.xlsx"
    roster.write_bytes(roster_xlsx(20, START))
    page = chromium_browser.new_context(viewport={"width": width, "height": height}).new_page()
    shot = lambda name: page.screenshot(  # noqa: E731
        path=str(ARTIFACTS / f"rosters-{name}-{label}.png"), full_page=True
    )
    try:
        _login(page, school, "registrar")
        page.goto(f"{school}/rosters/nutrition/")
        assert page.evaluate(FITS_JS)
        page.set_input_files("input[type=file]", str(roster))
        with page.expect_navigation():
            page.click("form[enctype] button[type=submit]")
        assert "表头在第2行" in page.content()
        shot("summary")
        # The fields the roster lacks, once for the source.
        page.click("nav.roster-tabs >> text=列对应")
        for key, value in DEFAULTS.items():
            page.fill(f"input[name=default_{key}]", value)
        assert page.locator("select[name=col1]").input_value() == "name"
        shot("mapping")
        with page.expect_navigation():
            page.click("text=保存并重新校验")
        assert "列对应已保存" in page.content()
        # 三年级 2班 is no class of the school yet: created from the roster.
        page.click("nav.roster-tabs >> text=年级/班级对应")
        shot("classes")
        with page.expect_navigation():
            page.click("text=按名册新建班级")
        assert "已新建班级" in page.content()
        # The grid: a row without 性别, corrected in place.
        page.click("nav.roster-tabs >> text=逐行核对")
        assert page.evaluate(FITS_JS)
        card = page.locator(".roster-row", has_text="性别为必填项").first
        shot("rows")
        card.locator("input[name=f_sex]").fill("男")
        with page.expect_navigation():
            card.locator("button[type=submit]").click()
        content = page.content()
        if "还有问题" in content:  # a girl's ID number: 女 then
            card = page.locator(".roster-row", has_text="性别").first
            card.locator("input[name=f_sex]").fill("女")
            with page.expect_navigation():
                card.locator("button[type=submit]").click()
        assert "可以转入" in page.content()
        shot("row-saved")
        page.click("nav.roster-tabs >> text=概况")
        ready = int(page.locator("td[data-state=ready]").inner_text())
        assert ready == 20 - 2 - 2 + 1  # lost ID digits and 性别 twice, one corrected
        with page.expect_navigation():
            page.click("button:has-text('全部转学籍系统')")
        assert f"已转入学籍系统 {ready} 人" in page.content()
        assert page.evaluate(FITS_JS)
        shot("promoted")
        connection.set_schema_to_public()
        with school_context(live_db.a.schema):
            drafts = Student.objects.exclude(name=SENTINEL_STUDENT).filter(audit_state="draft")
            assert drafts.count() == ready
        connection.set_schema_to_public()
        page.goto(f"{school}/registry/students/?audit_state=draft")
        shot("drafts")
    finally:
        page.context.close()
        _cleanup(live_db)
