"""The pages of issue 13's last points in Debian Chromium (CSP on): the teacher list
paged with its filter kept, 重置密码 from it (confirmation, then the one-time password),
the 跨校转移 form's 为调入学校开通账号 box and the receiving approver's page that shows
the new account's password. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World
from tenants.context import school_context
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_paged_teachers_reset_and_an_account_for_a_moving_teacher(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    from common.actor import Actor
    from shared_apps.transfers.services import CaseActor, case_decide
    from tenant_apps.registry.teachers.services import teacher_create
    from tenant_apps.registry.teachers.transfer import teacher_transfer_start

    # given: 34 teachers of A (one of them the "staff" account's) and one moving to B
    actor = Actor("admin", "管理员", live_db.a.schema)
    with school_context(live_db.a.schema):
        for i in range(33):
            teacher_create(
                data={
                    "staff_no": f"Q{i:03d}",
                    "name": f"页面{i:03d}",
                    "sex": "1",
                    "subject": "语文",
                },
                actor=actor,
            )
        teacher_create(
            data={"staff_no": "staff", "name": "有号老师", "sex": "2", "subject": "语文"},
            actor=actor,
        )
        moving = teacher_create(
            data={"staff_no": "MV1", "name": "调动老师", "sex": "1"}, actor=actor
        )
        case = teacher_transfer_start(
            teacher_id=moving.pk,
            to_school_code=live_db.b.code,
            mode="move",
            reason="工作调动",
            actor=actor,
            open_account=True,
        )
    case_decide(
        case_id=case.pk,
        actor=CaseActor("approver", live_db.a.schema, None, frozenset({"registry.approve"})),
        approve=True,
    )
    connection.set_schema_to_public()
    a_url = f"http://{live_db.a.host}:{server}"
    b_url = f"http://{live_db.b.host}:{server}"
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        _login(page, a_url, "admin")

        # the list, searched, over two pages
        page.goto(f"{a_url}/school/teachers/?q=语文&status=all")
        assert "第 1 / 2 页，共 34 条" in page.locator(".pager").inner_text()
        page.screenshot(path=str(ARTIFACTS / "teachers-paged-1280.png"), full_page=True)
        with page.expect_navigation():
            page.click(".pager >> text=下一页")
        assert "q=%E8%AF%AD%E6%96%87" in page.url
        assert "status=all" in page.url
        assert page.locator("tbody tr").count() == 4

        # 重置密码 of the linked teacher's account
        row = page.locator("tbody tr", has_text="有号老师")
        with page.expect_navigation():
            row.locator("text=重置密码").click()
        page.screenshot(path=str(ARTIFACTS / "password-reset-confirm-1280.png"), full_page=True)
        with page.expect_navigation():
            page.click("text=确认重置密码")
        password = page.locator("code.secret").inner_text()
        assert len(password) == 12
        page.screenshot(path=str(ARTIFACTS / "password-reset-done-1280.png"), full_page=True)

        # the transfer form's box
        page.goto(f"{a_url}/school/teachers/{moving.pk}/")
        assert page.locator("input[name=open_account]").count() == 1
        page.locator("input[name=open_account]").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "teacher-transfer-form-1280.png"), full_page=True)

        # B's approver accepts and sees the new account's password once
        b_page = context.new_page()
        b_page.on("dialog", lambda d: d.accept())
        context.clear_cookies()
        _login(b_page, b_url, "approver")
        b_page.goto(f"{b_url}/transfers/cases/{case.pk}/")
        with b_page.expect_navigation():
            b_page.click("button[value=approve]")
        assert "已开通的账号" in b_page.locator("main").inner_text()
        assert "MV1" in b_page.locator("table").inner_text()
        b_page.screenshot(path=str(ARTIFACTS / "teacher-transfer-account-1280.png"), full_page=True)
    finally:
        context.close()
