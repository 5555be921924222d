"""招生比对 in a real browser: the county officer publishes the county-wide admitted list
(split per school), reads the county's table, drills into school A (masked) and grants
an exception; A's registrar reads 录取名单与学籍比对 at desktop width and at 360 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from conftest import SENTINEL_STUDENT, World
from tenant_apps.registry.tests.factories import valid_row
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser]
BASE = 62000
FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


def _cleanup(world: World) -> None:
    from tenant_apps.rosters.models import AdmissionList, AdmissionOverride, RosterUpload
    from tenants.context import school_context

    for school in (world.a, world.b):
        with school_context(school.schema):
            AdmissionList.objects.all().delete()
            AdmissionOverride.objects.exclude(reason="哨兵例外").delete()
            RosterUpload.objects.filter(source__kind="admissions").delete()
        connection.set_schema_to_public()
    # The audit entries stay: the log is append-only.


def _county_file(world: World, path: Path) -> Path:
    lines = ["录取学校代码,学生姓名,性别,出生日期,身份证号"]
    sentinel = f"{world.a.code},{SENTINEL_STUDENT},男,20180301,430181201803010016"
    lines.append(sentinel)
    for n in range(6):
        row = valid_row(BASE + n)
        code = world.a.code if n < 4 else world.b.code
        name = "李改名" if n == 0 else row["name"]
        lines.append(f"{code},{name},{row['sex']},{row['birth_date']},{row['id_number']}")
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    return path


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1366, 900), ("360", 360, 780)])
def test_the_county_publishes_and_the_school_compares(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    tmp_path: Path,
    label: str,
    width: int,
    height: int,
) -> None:
    bureau = f"http://{settings.BASE_DOMAIN}:{server}"
    school = f"http://{live_db.a.host}:{server}"
    county_file = _county_file(live_db, tmp_path / "全县录取名单.csv")
    context = chromium_browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    shot = lambda name: page.screenshot(  # noqa: E731
        path=str(ARTIFACTS / f"admissions-{name}-{label}.png"), full_page=True
    )
    try:
        _login(page, bureau, live_db.bureau_user)
        page.goto(f"{bureau}/bureau/admissions/?stage=primary&year=2024")
        assert "未发布录取名单" in page.content()
        page.set_input_files("input[type=file]", str(county_file))
        with page.expect_navigation():
            page.click("button:has-text('上传并发布')")
        content = page.content()
        assert "已发布2024级小学一年级录取名单" in content
        assert f"{live_db.a.name} 5人" in content
        assert page.evaluate(FITS_JS)
        shot("county")
        with page.expect_navigation():
            page.click(f"table a:has-text('{live_db.a.name}')")
        content = page.content()
        assert "关键字段不一致" in content
        assert "李改名" not in content  # names masked for the county
        page.fill("input[name=id_number]", valid_row(BASE + 10)["id_number"])
        page.fill("textarea[name=reason]", "随迁子女，县教育局统筹安排")
        with page.expect_navigation():
            page.click("button:has-text('开具例外') >> nth=-1")
        assert "已开具例外" in page.content()
        assert page.evaluate(FITS_JS)
        shot("county-school")
        context.clear_cookies()
        _login(page, school, "registrar")
        page.goto(f"{school}/rosters/admissions/?stage=primary&year=2024")
        content = page.content()
        assert "李改名" in content
        assert "随迁子女，县教育局统筹安排" in content
        assert valid_row(BASE + 1)["id_number"] not in content
        assert page.evaluate(FITS_JS)
        shot("school")
    finally:
        context.close()
        _cleanup(live_db)
