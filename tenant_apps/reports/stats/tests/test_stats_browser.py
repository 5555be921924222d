"""查询统计 in Debian Chromium: the status table's chart is drawn by ECharts (charts.js
marks it data-chart-ready="1") beside its table view, at desktop width and at 360 px.
Screenshots go to test-artifacts/ (stats-status-desktop.png, stats-status-360.png)."""

from __future__ import annotations

import pytest

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_status_table_draws_its_chart_on_desktop_and_phone(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    url = f"http://{live_db.a.host}:{server}"
    for name, viewport in (
        ("desktop", {"width": 1366, "height": 900}),
        ("360", {"width": 360, "height": 780}),
    ):
        context = chromium_browser.new_context(viewport=viewport)
        page = context.new_page()
        _login(page, url, "principal")
        page.goto(f"{url}/reports/stats/status/")
        page.wait_for_selector("[data-chart-ready='1']", timeout=15000)
        assert page.locator("[data-chart] canvas, [data-chart] svg").count() >= 1
        # the table view beside the chart and the full table both list every line
        assert page.locator("th[scope=row]", has_text="在读").count() >= 2
        # nothing wider than the phone: the page does not scroll sideways
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: {overflow}px wider than the viewport"
        page.screenshot(path=str(ARTIFACTS / f"stats-status-{name}.png"), full_page=True)
        context.close()
