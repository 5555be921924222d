"""The bureau dashboard in Debian Chromium (issue 16): 浏阳市's officer opens 统计看板
from the menu and drills county → township → school → grade → class, each level with
its charts drawn (ECharts' SVG in every chart holder) and its figures in the table beside
them; the main page is also taken at 360 px, where nothing may be wider than the screen.

The live counts are committed SchoolCount rows made here (the world's own rows are set
aside and put back afterwards). Screenshots: test-artifacts/dashboard-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from conftest import SENTINEL_STUDENT, World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser
TOWN_A = "430181001"
FIELDS = (
    "school_id",
    "stage",
    "entry_year",
    "sex",
    "ethnicity",
    "status",
    "audit_state",
    "has_problem",
    "students",
    "left_behind",
    "migrant_child",
    "disability",
    "boarding",
    "needs_aid",
    "boarding_subsidy",
    "only_child",
)
# (school, entry year, sex, status, audit state, students, left-behind)
CELLS = [
    ("a", 2024, "1", "01", "registered", 40, 6),
    ("a", 2024, "2", "01", "registered", 37, 4),
    ("a", 2023, "1", "01", "registered", 35, 3),
    ("a", 2023, "2", "01", "registered", 38, 2),
    ("a", 2022, "1", "02", "registered", 2, 0),
    ("a", 2024, "2", "01", "county_pending", 3, 0),
    ("b", 2024, "1", "01", "registered", 21, 1),
    ("b", 2024, "2", "01", "registered", 19, 0),
]


@pytest.fixture
def dashboard_counts(live_db: World) -> Iterator[World]:
    from shared_apps.student_index.models import SchoolCount
    from tenants.models import School

    ids = {"a": live_db.a.id, "b": live_db.b.id, "c": live_db.c.id}
    kept: list[dict[str, Any]] = list(SchoolCount.objects.values(*FIELDS))
    location = School.objects.get(pk=live_db.a.id).location_code
    SchoolCount.objects.all().delete()
    School.objects.filter(pk=live_db.a.id).update(location_code=TOWN_A + "000")
    for key, year, sex, status, audit, n, left in CELLS:
        SchoolCount.objects.create(
            school_id=ids[key],
            stage="primary",
            entry_year=year,
            sex=sex,
            ethnicity="01",
            status=status,
            audit_state=audit,
            students=n,
            left_behind=left,
        )
    try:
        yield live_db
    finally:
        connection.set_schema_to_public()
        SchoolCount.objects.all().delete()
        SchoolCount.objects.bulk_create(SchoolCount(**row) for row in kept)
        School.objects.filter(pk=live_db.a.id).update(location_code=location)


def _charts_drawn(page: Any) -> int:
    """Chart holders on the page, after checking every one has its SVG drawn."""
    page.wait_for_selector("[data-chart-ready='1'] svg")
    holders = page.locator("[data-chart]")
    n = holders.count()
    assert n > 0
    for i in range(n):
        assert holders.nth(i).locator("svg").count() == 1
    return n


def test_drill_down_from_county_to_class(
    dashboard_counts: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    world = dashboard_counts
    url = f"http://{settings.BASE_DOMAIN}:{server}"
    context = chromium_browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _login(page, url, world.bureau_user)
    page.click("a[href='/bureau/dashboard/']")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "浏阳市"
    assert _charts_drawn(page) >= 8
    stats = page.locator(".stats-row .num").all_inner_texts()
    # 学校 2, 在读 40+37+35+38+21+19 = 190, 男 40+35+21 = 96, 女 37+38+19 = 94, 未注册 3
    assert stats == ["2", "190", "96", "94", "3"]
    schools = page.locator("#table-schools table.dash-table tbody tr").all_inner_texts()
    assert schools[0].split("\t") == [world.a.name, "75", "75", "150", "3"]
    assert schools[1].split("\t") == [world.b.name, "21", "19", "40", "0"]
    page.screenshot(path=str(ARTIFACTS / "dashboard-county.png"), full_page=True)

    page.click(f"#table-townships a[href='/bureau/dashboard/township/{TOWN_A}/']")
    page.wait_for_load_state()
    _charts_drawn(page)
    assert page.locator(".stats-row .num").all_inner_texts() == ["1", "150", "75", "75", "3"]
    page.screenshot(path=str(ARTIFACTS / "dashboard-township.png"), full_page=True)

    page.click(f"#table-schools a[href='/bureau/dashboard/school/{world.a.id}/']")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == world.a.name
    _charts_drawn(page)
    grades = page.locator("#table-grades table.dash-table tbody tr").all_inner_texts()
    # 2022 has two 休学 pupils only: the grade is listed, with no one 在读
    assert [g.split("\t")[1:] for g in grades] == [
        ["40", "37", "77", "3"],
        ["35", "38", "73", "0"],
        ["0", "0", "0", "0"],
    ]
    page.screenshot(path=str(ARTIFACTS / "dashboard-school.png"), full_page=True)

    page.click(f"a[href='/bureau/dashboard/school/{world.a.id}/grade/primary/2024/']")
    page.wait_for_load_state()
    _charts_drawn(page)
    # The class level is read in school A itself: the world's one pupil there is a draft.
    classes = page.locator("#table-classes table.dash-table tbody tr").all_inner_texts()
    assert classes[0].split("\t") == ["小学2024级(01)班", "0", "0", "0", "1"]
    body = page.content()
    assert SENTINEL_STUDENT not in body
    assert world.a.schema not in body
    page.screenshot(path=str(ARTIFACTS / "dashboard-class.png"), full_page=True)

    crumbs = page.locator(".crumbs a").all_inner_texts()
    assert crumbs == ["浏阳市", "淮川街道", world.a.name]

    # from the school, its own 查询统计 (read in school A, read-only): 按学籍状态
    page.click(f".crumbs a[href='/bureau/dashboard/school/{world.a.id}/']")
    page.wait_for_load_state()
    page.click("a:has-text('按学籍状态')")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"{world.a.name} · 按学籍状态统计"
    _charts_drawn(page)
    assert "未注册：待提交" in page.content()
    assert page.locator("main form[method=post]").count() == 0  # nothing to write here
    page.screenshot(path=str(ARTIFACTS / "dashboard-school-stats.png"), full_page=True)
    context.close()


def test_dashboard_fits_a_phone(
    dashboard_counts: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    world = dashboard_counts
    url = f"http://{settings.BASE_DOMAIN}:{server}"
    context = chromium_browser.new_context(viewport={"width": 360, "height": 780})
    page = context.new_page()
    _login(page, url, world.bureau_user)
    page.goto(f"{url}/bureau/dashboard/")
    _charts_drawn(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    page.screenshot(path=str(ARTIFACTS / "dashboard-360.png"), full_page=True)
    context.close()
