"""全选符合条件的 N 名 in a real browser with a real worker: the box on the roster's first
page submits every matching draft (both pages), the confirmation names the whole count,
and the progress bar follows the job to its closing message."""

from __future__ import annotations

import pytest

from conftest import World
from tenant_apps.registry.tests.test_bulk_actions import (  # noqa: F401 - fixtures
    _states,
    committed_drafts,
    worker,
)
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_select_all_matching_submits_every_page_through_the_job(
    committed_drafts: tuple[World, list[int], int],  # noqa: F811
    worker: None,  # noqa: F811
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    world, ids, class_id = committed_drafts
    school = f"http://{world.a.host}:{server}"
    page = chromium_browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    _login(page, school, "registrar")
    # given: the first of four pages of the class's 120 drafts
    page.goto(f"{school}/registry/students/?class_id={class_id}&audit_state=draft")
    assert page.locator("input[name=ids]").count() == 30
    # when: the box is checked (the page's rows follow) and the button clicked
    page.check("input[data-all-matching]")
    assert page.locator("input[name=ids]:checked").count() == 30
    page.screenshot(path=str(ARTIFACTS / "bulk-submit-checked.png"), full_page=True)
    with page.expect_navigation():
        page.click("#submit-form button[type=submit]")
    # then: the confirmation named all 120, and the bar ends on the job's true message
    assert dialogs == ["确定把符合条件的全部 120 名学生提交学校审核？提交后审核结束前不能修改。"]
    # The bar polls the job; once it ends the page reloads itself (data-reload-on-done).
    page.wait_for_selector(".job[data-state=succeeded]", timeout=60_000)
    page.wait_for_timeout(1500)
    page.wait_for_load_state()
    assert "已提交 120 名学生审核，等待学校审核。" in page.locator(".job-message").inner_text()
    page.screenshot(path=str(ARTIFACTS / "bulk-submit-done.png"), full_page=True)
    assert _states(world.a.schema, ids) == {"school_pending": 120}
    page.context.close()
