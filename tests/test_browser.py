"""End to end in Debian Chromium (Playwright): a registrar logs in on a school host,
a bureau officer logs in on the bureau host and opens a new school, watching the
progress bar while a real Celery worker provisions it. Screenshots go to
test-artifacts/ so a person can look at what was tested."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connection
from django.test.testcases import LiveServerThread

from conftest import PASSWORD, SENTINEL_STUDENT, World

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(django_db_setup: World) -> Iterator[int]:
    # Django's own live-server thread: pytest-django's live_server would force a
    # transactional flush that wipes the public tables (django-tenants.md §3.3).
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield thread.port
    thread.terminate()


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def _login(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_registrar_logs_in_on_the_school_host(
    live_db: World, server: int, chromium_browser
) -> None:
    url = f"http://{live_db.a.host}:{server}"
    for name, viewport in (
        ("laptop", {"width": 1366, "height": 800}),
        ("tablet", {"width": 768, "height": 1024}),
    ):
        context = chromium_browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(f"{url}/accounts/login/")
        assert page.locator("h1").inner_text() == live_db.a.name
        page.screenshot(path=str(ARTIFACTS / f"school-login-{name}.png"))
        _login(page, url, "registrar")
        assert page.locator("main h1").inner_text() == "学校概况"
        # The one seeded pupil is still a draft: not 在读, but shown apart and labelled.
        assert page.locator(".stat .num").first.inner_text() == "0"
        assert "尚未注册" in page.locator("main .flash.warning").inner_text()
        page.screenshot(path=str(ARTIFACTS / f"school-home-{name}.png"), full_page=True)
        if name == "tablet":
            # the side menu folds away and opens from the toggle
            page.click(".menu-toggle")
        page.click("text=学生名册")
        page.wait_for_load_state()
        assert SENTINEL_STUDENT in page.locator("table").inner_text()
        assert "430181201803010016" not in page.content(), "ID numbers are masked in lists"
        page.screenshot(path=str(ARTIFACTS / f"school-students-{name}.png"), full_page=True)
        context.close()


def test_bureau_officer_logs_in_and_opens_a_school(
    live_db: World, server: int, chromium_browser, celery_worker_thread: None
) -> None:
    from django.conf import settings

    from shared_apps.jobs.models import Job
    from tenants.models import Domain, School

    url = f"http://{settings.BASE_DOMAIN}:{server}"
    page = chromium_browser.new_context(viewport={"width": 1366, "height": 800}).new_page()
    _login(page, url, live_db.bureau_user)
    table = page.locator("table").inner_text()
    assert live_db.a.name in table
    assert live_db.b.name in table
    assert live_db.c.name not in table, "another county's school stays hidden"
    page.screenshot(path=str(ARTIFACTS / "bureau-home.png"), full_page=True)

    # the create-school form sits on the bureau's home page
    page.fill("#id_name", "浏览器开通小学")
    page.fill("#id_code", "2143990201")
    page.fill("#id_slug", "browser")
    page.select_option("#id_county_code", "430181")
    page.check("input[name=stages][value=primary]")
    page.fill("#id_admin_username", "900001")
    page.fill("#id_admin_full_name", "新校管理员")
    try:
        page.click("#open-school button[type=submit]")
        page.wait_for_selector(".job[data-state=succeeded]", timeout=60_000)
        assert "学校已开通" in page.locator(".job-message").inner_text()
        password = page.locator("code.secret").inner_text()
        page.screenshot(path=str(ARTIFACTS / "bureau-school-opened.png"), full_page=True)
        # the new school's administrator logs in and is sent to change the password
        new_page = chromium_browser.new_context().new_page()
        _login(new_page, f"http://browser.{settings.BASE_DOMAIN}:{server}", "900001", password)
        assert new_page.url.endswith("/accounts/password/")
        new_page.screenshot(path=str(ARTIFACTS / "school-first-login.png"))
        # after the forced password change a fresh school's administrator lands on the
        # start-of-year checklist
        new_page.fill("#id_old_password", password)
        new_page.fill("#id_new_password", "Xin-Xiao-2026!")
        new_page.fill("#id_new_password_again", "Xin-Xiao-2026!")
        with new_page.expect_navigation():
            new_page.click("main button[type=submit]")
        new_page.wait_for_load_state()
        assert new_page.url.endswith("/school/setup/"), new_page.url
        assert new_page.locator("main h1").inner_text() == "学年初始化"
    finally:
        connection.set_schema_to_public()
        school = School.objects.filter(code="2143990201").first()
        if school is not None:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{school.schema_name}" CASCADE')
            Domain.objects.filter(tenant=school).delete()
            school.delete()
        Job.objects.filter(title__contains="浏览器开通小学").delete()


def _import_workbook(seqs: range, bad: int) -> bytes:
    import io

    from openpyxl import Workbook

    from tenant_apps.registry.fields import COLUMNS
    from tenant_apps.registry.tests.factories import valid_row

    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in COLUMNS])  # type: ignore[union-attr]
    for n, seq in enumerate(seqs):
        row = valid_row(seq=seq)
        if n < bad:
            row["ethnicity"] = "汉"  # the classic template mistake
        sheet.append([row.get(c.key, "") for c in COLUMNS])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_import_dry_run_confirm_and_two_level_audit(
    live_db: World, server: int, chromium_browser, celery_worker_thread: None, tmp_path: Path
) -> None:
    """Registrar uploads, reads the dry run, confirms the valid rows and submits them;
    the school approver and then the bureau approve; the students are registered."""
    from django.conf import settings

    from shared_apps.jobs.models import Job
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import ImportBatch, Student, StudentEvent
    from tenants.context import school_context

    school = f"http://{live_db.a.host}:{server}"
    workbook = tmp_path / "新生名单.xlsx"
    workbook.write_bytes(_import_workbook(range(9100, 9112), bad=2))
    context = chromium_browser.new_context(viewport={"width": 1366, "height": 900})
    context.on("page", lambda p: p.on("dialog", lambda d: d.accept()))
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    try:
        _login(page, school, "registrar")
        page.goto(f"{school}/registry/imports/")
        page.set_input_files("input[type=file]", str(workbook))
        page.click("main button[type=submit]")
        page.wait_for_selector("text=确认导入", timeout=60_000)
        stats = page.locator(".stat .num").all_inner_texts()
        assert stats[:3] == ["12", "10", "2"], stats
        page.screenshot(path=str(ARTIFACTS / "import-report.png"), full_page=True)
        assert "民族须填写全称" in page.content()
        with page.expect_navigation():
            page.click("button[value=valid_only]")
        page.screenshot(path=str(ARTIFACTS / "import-done.png"), full_page=True)
        with school_context(live_db.a.schema):
            imported = Student.objects.exclude(name=SENTINEL_STUDENT)
            assert imported.filter(audit_state="draft").count() == 10
        connection.set_schema_to_public()

        page.goto(f"{school}/registry/students/?audit_state=draft")
        page.check("input[data-select-all=ids]")
        with page.expect_navigation():
            page.click("#submit-form button[type=submit]")

        approver = context.browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        approver.on("dialog", lambda d: d.accept())
        _login(approver, school, "approver")
        approver.goto(f"{school}/registry/audit/")
        approver.check("input[data-select-all=ids]")
        with approver.expect_navigation():
            approver.click("button[value=approve]")
        approver.screenshot(path=str(ARTIFACTS / "school-audit.png"), full_page=True)

        bureau = context.browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        bureau.on("dialog", lambda d: d.accept())
        _login(bureau, f"http://{settings.BASE_DOMAIN}:{server}", live_db.bureau_user)
        bureau.goto(f"http://{settings.BASE_DOMAIN}:{server}/bureau/audit/")
        assert live_db.a.name in bureau.content()
        bureau.screenshot(path=str(ARTIFACTS / "bureau-audit.png"), full_page=True)
        bureau.check("input[data-select-all=items]")
        with bureau.expect_navigation():
            bureau.click("button[value=approve]")

        with school_context(live_db.a.schema):
            registered = Student.objects.filter(audit_state="registered")
            assert registered.count() == 10
            first = registered.first()
            # registered with the L number until the national check (domain §3.2 step 8)
            assert first.national_number.startswith("L")  # type: ignore[union-attr]
            identifier = first.identifier  # type: ignore[union-attr]
        connection.set_schema_to_public()
        page.goto(f"{school}/registry/students/{identifier}/")
        assert "已注册" in page.content()
        assert "教育局审核通过" in page.content()
        page.screenshot(path=str(ARTIFACTS / "student-registered.png"), full_page=True)
    finally:
        connection.set_schema_to_public()
        with school_context(live_db.a.schema):
            made = list(
                Student.objects.exclude(name=SENTINEL_STUDENT).values_list("identifier", flat=True)
            )
            Student.objects.exclude(name=SENTINEL_STUDENT).delete()
            # the sentinel was ticked with the others: put it back as the suite knows it
            Student.objects.filter(name=SENTINEL_STUDENT).update(
                audit_state="draft", submitted_by=""
            )
            StudentEvent.objects.all().delete()
            ImportBatch.objects.all().delete()
        connection.set_schema_to_public()
        IndexEntry.objects.filter(student_uuid__in=made).delete()
        Job.objects.filter(kind="student_import").delete()


OVERLAPS_JS = """() => {
  const picked = '.topbar a, .topbar button, .topbar select, .topbar .who, .brand-text strong';
  const seen = [...document.querySelectorAll(picked)]
    .filter(e => e.offsetParent !== null)
    .map(e => {
      const r = e.getBoundingClientRect();
      const name = e.textContent.trim() || e.tagName;
      return {name: name, l: r.left, r: r.right, t: r.top, b: r.bottom};
    })
    .filter(b => b.r > b.l && b.b > b.t);
  const hits = [];
  for (let i = 0; i < seen.length; i++) {
    const a = seen[i];
    if (a.l < 0 || a.r > window.innerWidth + 0.5) hits.push(a.name + ' leaves the screen');
    for (let j = i + 1; j < seen.length; j++) {
      const b = seen[j];
      const apart = a.r <= b.l + 0.5 || b.r <= a.l + 0.5 || a.b <= b.t + 0.5 || b.b <= a.t + 0.5;
      if (!apart) hits.push(a.name + ' / ' + b.name);
    }
  }
  return hits;
}"""


def test_teacher_pages_fit_a_360_px_phone(live_db: World, server: int, chromium_browser) -> None:
    """Login, the class teacher's own class list and a student page at 360 px: nothing
    wider than the screen, no header links on top of each other; the account links
    stay reachable from the menu. Screenshots at 360 and 1280 px."""
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    with school_context(live_db.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        klass = student.school_class
        before = klass.teacher_username
        SchoolClass.objects.filter(pk=klass.pk).update(teacher_username="teacher")
    connection.set_schema_to_public()
    url = f"http://{live_db.a.host}:{server}"
    pages = {
        "class": "/registry/students/",
        "student": f"/registry/students/{student.identifier}/",
    }
    try:
        for width in (360, 1280):
            context = chromium_browser.new_context(viewport={"width": width, "height": 780})
            page = context.new_page()
            page.goto(f"{url}/accounts/login/")
            page.screenshot(path=str(ARTIFACTS / f"phone-login-{width}.png"), full_page=True)
            if width == 360:
                assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
            _login(page, url, "teacher")
            for name, path in pages.items():
                page.goto(f"{url}{path}")
                page.wait_for_load_state()
                page.screenshot(path=str(ARTIFACTS / f"phone-{name}-{width}.png"), full_page=True)
                if width != 360:
                    continue
                assert SENTINEL_STUDENT in page.locator("main").inner_text(), path
                scroll = page.evaluate("document.scrollingElement.scrollWidth")
                assert scroll <= 360, f"{path}: {scroll} px wide at 360"
                assert page.evaluate(OVERLAPS_JS) == [], path
            if width == 360:
                # the account links fold into the menu and open from the toggle
                assert not page.locator(".topbar a:has-text('修改密码')").is_visible()
                page.click(".menu-toggle")
                page.wait_for_timeout(300)
                assert page.locator(".sidebar a:has-text('修改密码')").is_visible()
                page.screenshot(path=str(ARTIFACTS / "phone-menu-360.png"))
                assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
            context.close()
    finally:
        with school_context(live_db.a.schema):
            SchoolClass.objects.filter(pk=klass.pk).update(teacher_username=before)
        connection.set_schema_to_public()
