"""A transfer from start to completion in Chromium, with the three logins it needs: the
receiving registrar on school A's host, the sending approver on school B's host and the
浏阳 bureau officer on the bureau host. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import SENTINEL_STUDENT, World
from shared_apps.transfers.tests.helpers import cleanup, make_student
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_transfer_start_to_completion(live_db: World, server: int, chromium_browser) -> None:  # noqa: F811
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    world = live_db
    made = make_student(
        world.b.schema, world.b.id, name="转学测试浏览", id_number="430181201803017777"
    )
    try:
        # 1. The receiving registrar finds the student and applies.
        context = chromium_browser.new_context(locale="zh-CN")
        page = context.new_page()
        url_a = f"http://{world.a.host}:{server}"
        _login(page, url_a, "registrar")
        page.goto(f"{url_a}/transfers/new/")
        page.fill("#name", "转学测试浏览")
        page.fill("#id_number", "430181201803017777")
        page.click("button:has-text('查找')")
        page.wait_for_load_state()
        assert page.locator("text=转****览").count() == 1
        assert page.locator("text=测试乙小学").count() >= 1
        page.select_option("#target_class-1", label="小学2024级(01)班")
        page.fill("#reason-1", "随父母工作调动")
        page.screenshot(path=str(ARTIFACTS / "transfer-1-start.png"), full_page=True)
        page.click("button:has-text('提交转学申请')")
        page.wait_for_load_state()
        assert "转学申请已提交" in page.content()
        page.goto(f"{url_a}/transfers/?direction=incoming")
        assert page.locator("text=测试乙小学 · 转出学校审核").count() == 1
        page.screenshot(path=str(ARTIFACTS / "transfer-1b-case-list.png"), full_page=True)
        applied = Case.objects.get(student_uuid=made.identifier)
        page.goto(f"{url_a}/transfers/cases/{applied.pk}/")
        assert page.locator("summary", has_text="撤回申请").count() == 1  # the applicant's
        page.screenshot(path=str(ARTIFACTS / "transfer-1e-applicant-case.png"), full_page=True)
        page.goto(f"{url_a}/transfers/in/")
        assert page.locator("h1", has_text="省外转入登记").count() == 1
        page.screenshot(path=str(ARTIFACTS / "transfer-1c-external-in.png"), full_page=True)
        with school_context(world.a.schema):
            sentinel = Student.objects.get(name=SENTINEL_STUDENT).identifier
        connection.set_schema_to_public()
        page.goto(f"{url_a}/transfers/out/{sentinel}/")
        assert "暂不能办理" in page.content()  # a draft record cannot leave
        page.screenshot(path=str(ARTIFACTS / "transfer-1d-external-out.png"), full_page=True)
        context.close()
        connection.set_schema_to_public()
        case = Case.objects.get(student_uuid=made.identifier)

        # 2. The sending school's approver approves (the password entered at login is
        #    recent, so no second prompt).
        context = chromium_browser.new_context(locale="zh-CN")
        page = context.new_page()
        url_b = f"http://{world.b.host}:{server}"
        _login(page, url_b, "approver")
        page.goto(f"{url_b}/transfers/")
        page.click(f"text={case.number}")
        page.wait_for_load_state()
        assert page.locator("text=待本校办理").count() == 0  # the case page, not the list
        assert "办理期限" in page.content()
        page.screenshot(path=str(ARTIFACTS / "transfer-2-sending-school.png"), full_page=True)
        page.click("button:has-text('审核通过')")
        page.wait_for_load_state()
        assert "已转下一环节" in page.content()
        context.close()

        # 3. The county bureau opens the case from its queue and approves it alone (no
        # batch approval of transfers, domain.md §3.5).
        context = chromium_browser.new_context(locale="zh-CN")
        page = context.new_page()
        url_bureau = f"http://localhost:{server}"
        _login(page, url_bureau, world.bureau_user)
        page.goto(f"{url_bureau}/bureau/cases/")
        assert page.locator("input[name='case_ids']").count() == 0
        page.screenshot(path=str(ARTIFACTS / "transfer-3-bureau-queue.png"), full_page=True)
        page.click(f"a:has-text('{case.number}')")
        page.wait_for_load_state()
        page.click("button:has-text('审核通过')")
        page.wait_for_load_state()
        assert "业务已办结" in page.content()
        page.screenshot(path=str(ARTIFACTS / "transfer-4-bureau-done.png"), full_page=True)
        context.close()

        connection.set_schema_to_public()
        assert Case.objects.get(pk=case.pk).state == "done"
        assert IndexEntry.objects.get(student_uuid=made.identifier).school_id == world.a.id
        with school_context(world.a.schema):
            assert Student.objects.get(identifier=made.identifier).status == "01"
        with school_context(world.b.schema):
            assert Student.objects.get(identifier=made.identifier).status == "10"
    finally:
        connection.set_schema_to_public()
        cleanup(world, [made.identifier])
