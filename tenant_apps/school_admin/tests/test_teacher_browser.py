"""教师信息管理 in Debian Chromium (CSP on), at 1280 and 360 px: a wrong ID check
character refused beside its field, the teacher added, an Excel file uploaded, its
report read and confirmed, the new teacher in the list. Screenshots of the list, the
form and the report go to test-artifacts/."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from stdnum.cn import ric

from conftest import World
from tenants.context import school_context
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def _id(seq: str) -> str:
    body = f"43012119800101{seq}"
    return body + ric.calc_check_digit(body + "0")


def test_admin_adds_and_imports_teachers(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    tmp_path,
) -> None:
    from tenant_apps.registry.models import Teacher

    url = f"http://{live_db.a.host}:{server}"
    right = _id("013")
    wrong = right[:-1] + ("1" if right[-1] != "1" else "2")
    book = Workbook()
    ws = book.active
    ws.title = "教师信息"  # type: ignore[union-attr]
    ws.append(["工号", "姓名", "性别", "身份证号", "职称"])  # type: ignore[union-attr]
    ws.append(["BR02", "浏览器乙", "女", _id("024"), "二级教师"])  # type: ignore[union-attr]
    ws.append(["BR03", "浏览器丙", "男", "", "特级"])  # type: ignore[union-attr]
    upload = tmp_path / "teachers.xlsx"
    out = io.BytesIO()
    book.save(out)
    upload.write_bytes(out.getvalue())
    try:
        context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("dialog", lambda d: d.accept())
        _login(page, url, "admin")
        page.click(".sidebar >> text=教师信息")
        page.wait_for_load_state()
        with page.expect_navigation():
            page.click("text=新增教师")
        page.fill("#id_staff_no", "BR01")
        page.fill("#id_name", "浏览器甲")
        page.select_option("#id_sex", value="1")
        page.fill("#id_id_number", wrong)
        with page.expect_navigation():
            page.click("form.card button[type=submit]")
        error = page.locator(".has-error .error-text").inner_text()
        assert error.startswith("身份证号校验位不符：号码中有录入错误")
        assert "应为" not in error
        page.screenshot(path=str(ARTIFACTS / "teachers-form-1280.png"), full_page=True)
        page.fill("#id_id_number", right)
        with page.expect_navigation():
            page.click("form.card button[type=submit]")
        assert "已新增教师浏览器甲（BR01）。" in page.locator(".flash").inner_text()

        page.click(".head-actions >> text=批量导入")
        page.wait_for_load_state()
        page.set_input_files("#id_file", str(upload))
        with page.expect_navigation():
            page.click("text=上传并校验")
        assert "教师导入校验报告" in page.locator("main h1").inner_text()
        report = page.locator("table").inner_text()
        assert "职称“特级”不是有效的值" in report
        page.screenshot(path=str(ARTIFACTS / "teachers-report-1280.png"), full_page=True)
        with page.expect_navigation():
            page.click("button[value=valid_only]")
        assert "已导入 1 名教师" in page.locator(".flash").inner_text()
        rows = page.locator("tbody").inner_text()
        assert "浏览器甲" in rows
        assert "浏览器乙" in rows
        assert "浏览器丙" not in rows
        assert right not in page.content()  # the list masks ID numbers
        page.screenshot(path=str(ARTIFACTS / "teachers-list-1280.png"), full_page=True)
        context.close()

        narrow = chromium_browser.new_context(viewport={"width": 360, "height": 740})
        phone = narrow.new_page()
        _login(phone, url, "admin")
        phone.goto(f"{url}/school/teachers/")
        assert phone.locator("main h1").inner_text() == "教师信息管理"
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        phone.screenshot(path=str(ARTIFACTS / "teachers-list-360.png"), full_page=True)
        narrow.close()
    finally:
        with school_context(live_db.a.schema):
            Teacher.objects.filter(staff_no__startswith="BR").delete()
