"""Issue 13 point 8: a new school's first day, in Debian Chromium, with a real worker.

The bureau officer opens a school on the bureau page and reads the one-time password;
from there on only the browser acts: the school's administrator logs in, changes the
password, lands on 学年初始化 and walks it (school information, the intake's grade, two
teacher accounts made on the user page, two classes with those teachers picked as 班主任,
the registrar appointed); the registrar then registers one pupil through the form and
imports 20 more through the import page. No API call and no fixture made in code happen
in between; the test only reads the database to check what the pages said.
Screenshots of the key steps go to test-artifacts/walk-*.png."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.db import connection

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser

CODE = "2143990203"
SLUG = "walkschool"
NAME = "走查实验小学"
ADMIN = "910001"
NEW_PASSWORD = "Zou-Cha-2026!x"
TEACHERS = (("910011", "李班一"), ("910012", "王班二"))
REGISTRAR = ("910021", "周学籍")
FORM_SEQ = 7100  # the pupil typed into the form
IMPORT_SEQS = range(7000, 7020)  # the 20 imported pupils


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"walk-{name}.png"), full_page=True)


def _secret(page) -> str:
    """The one-time password as the page shows it: the marked secret if there is one,
    else the value next to 初始密码. Either way 12 characters without spaces."""
    marked = page.locator("code.secret, [data-secret]")
    if marked.count():
        text = marked.first.inner_text().strip()
    else:
        text = page.locator("dt:has-text('初始密码') + dd").first.inner_text().strip()
    assert re.fullmatch(r"\S{12}", text), text
    return text


def _change_password(page, old: str) -> None:
    assert page.url.endswith("/accounts/password/"), page.url
    page.fill("#id_old_password", old)
    page.fill("#id_new_password", NEW_PASSWORD)
    page.fill("#id_new_password_again", NEW_PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.wait_for_load_state()


def _line(page, label: str):
    return page.locator(".check-line", has_text=label)


def _is_done(page, label: str) -> bool:
    return "done" in (_line(page, label).get_attribute("class") or "")


def _back_to_checklist(page) -> None:
    """Through the menu, as the administrator would."""
    with page.expect_navigation():
        page.locator("nav a", has_text="学年初始化").first.click()
    assert page.locator("main h1").inner_text() == "学年初始化"


def _rows(year: int) -> dict[str, dict[str, object]]:
    from tenant_apps.registry.tests.factories import valid_row

    def row(seq: int, class_no: str) -> dict[str, object]:
        return valid_row(
            seq=seq, class_no=class_no, grade=f"小学{year}级", entry_year_month=f"{year}09"
        )

    rows = {"form": row(FORM_SEQ, f"{year}101")}
    for n, seq in enumerate(IMPORT_SEQS):
        rows[f"import{n}"] = row(seq, f"{year}10{1 + n % 2}")
    return rows


def _workbook(rows: list[dict[str, object]]) -> bytes:
    from openpyxl import Workbook

    from tenant_apps.registry.fields import COLUMNS

    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in COLUMNS])  # type: ignore[union-attr]
    for row in rows:
        sheet.append([row.get(c.key, "") for c in COLUMNS])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fill_student_form(page, row: dict[str, object]) -> None:
    """Type the row as a person would: code lists by the label they read."""
    from tenant_apps.registry.fields import COLUMNS

    for col in COLUMNS:
        value = str(row.get(col.key, "") or "")
        if not value:
            continue
        field = page.locator(f"#id_{col.key}")
        if field.evaluate("e => e.tagName") == "SELECT":
            if col.key == "class_no":
                field.select_option(value=value)
            else:
                field.select_option(label=value)
        else:
            field.fill(value)


def test_a_new_school_walks_its_start_of_year_and_registers_pupils(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    celery_worker_thread: None,
    tmp_path: Path,
) -> None:
    from django.conf import settings

    from shared_apps.jobs.models import Job
    from tenant_apps.registry.classes.services import setup_year
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context
    from tenants.models import Domain, School

    year = setup_year()
    rows = _rows(year)
    workbook = tmp_path / "新生名单.xlsx"
    workbook.write_bytes(_workbook([r for k, r in rows.items() if k != "form"]))
    bureau_url = f"http://{settings.BASE_DOMAIN}:{server}"
    school_url = f"http://{SLUG}.{settings.BASE_DOMAIN}:{server}"
    contexts = []

    def new_page():
        context = chromium_browser.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: d.accept())
        return page

    try:
        # -- the bureau opens the school ----------------------------------------------
        bureau = new_page()
        _login(bureau, bureau_url, live_db.bureau_user)
        bureau.fill("#id_name", NAME)
        bureau.fill("#id_code", CODE)
        bureau.fill("#id_slug", SLUG)
        bureau.select_option("#id_county_code", "430181")
        bureau.check("input[name=stages][value=primary]")
        bureau.fill("#id_admin_username", ADMIN)
        bureau.fill("#id_admin_full_name", "走查管理员")
        bureau.click("#open-school button[type=submit]")
        bureau.wait_for_selector(".job[data-state=succeeded]", timeout=90_000)
        password = _secret(bureau)
        _shot(bureau, "01-bureau-opened")

        # -- the administrator's first login lands on the checklist --------------------
        admin = new_page()
        _login(admin, school_url, ADMIN, password)
        _change_password(admin, password)
        assert admin.url.endswith("/school/setup/"), admin.url
        assert admin.locator("main h1").inner_text() == "学年初始化"
        assert admin.locator(".check-line.done").count() == 0
        _shot(admin, "02-checklist-fresh")

        # 1. school information, from its checklist line
        with admin.expect_navigation():
            _line(admin, "学校基本信息已核对").locator("a").click()
        admin.fill("#id_address", "湖南省浏阳市古港镇梅田村1号")
        admin.fill("#id_postcode", "410300")
        admin.fill("#id_principal", "陈校长")
        admin.fill("#id_phone", "0731-83000000")
        admin.select_option("#id_school_type", label="小学")
        admin.select_option("#id_sponsor", index=1)
        admin.locator("input[name=campus_name]").first.fill("本部")
        with admin.expect_navigation():
            admin.click("main form.card button[type=submit]")
        assert "学校基本信息已保存" in admin.locator(".flash").inner_text()
        _shot(admin, "03-info-saved")
        _back_to_checklist(admin)
        assert _is_done(admin, "学校基本信息已核对")

        # 2. the intake's grade in one click, from its checklist line
        intake = f"{year}级新生年级与班级已建立"
        with admin.expect_navigation():
            _line(admin, intake).locator("a").click()
        with admin.expect_navigation():
            admin.click(f"text=新增小学{year}级")
        assert f"已建立小学{year}级" in admin.locator(".flash").inner_text()
        _shot(admin, "04-grade-added")

        # 3. the teachers' and the registrar's accounts, on the school's user page
        with admin.expect_navigation():
            admin.locator("nav a", has_text="用户管理").first.click()
        passwords = {}
        for (username, full_name), role in (
            (TEACHERS[0], "class_teacher"),
            (TEACHERS[1], "class_teacher"),
            (REGISTRAR, "all_teachers"),
        ):
            admin.fill("#id_username", username)
            admin.fill("#id_full_name", full_name)
            admin.check(f"input[name=roles][value={role}]")
            with admin.expect_navigation():
                admin.locator("main form button[type=submit]").last.click()
            assert f"账号 {username} 已创建" in admin.locator(".flash").inner_text()
            passwords[username] = _secret(admin)
        _shot(admin, "05-users-created")

        # 4. two classes, each with its 班主任 picked from the list
        _back_to_checklist(admin)
        with admin.expect_navigation():
            _line(admin, intake).locator("a").click()
        assert admin.locator("main h1").inner_text() == "班级信息"
        # A new school has no last year's classes: no copy button that can only fail.
        assert admin.locator("button", has_text="复制").count() == 0
        assert f"{year - 1} 级新生没有班级可复制" in admin.locator("#no-copy").inner_text()
        # The first class from its grade's row: the grade comes preselected.
        with admin.expect_navigation():
            admin.locator("nav a", has_text="年级信息").first.click()
        with admin.expect_navigation():
            admin.locator("tr", has_text=f"小学{year}级").locator("a", has_text="新增班级").click()
        selected = admin.locator("#id_grade option:checked").inner_text()
        assert selected.startswith(f"小学{year}级"), selected
        for n, (username, full_name) in enumerate(TEACHERS, 1):
            if n > 1:
                grade = admin.locator("#id_grade option", has_text=f"小学{year}级")
                admin.select_option("#id_grade", value=grade.get_attribute("value"))
            admin.fill("#id_class_no", f"{year}10{n}")
            admin.select_option("#id_teacher", label=f"{full_name}（{username}）")
            with admin.expect_navigation():
                admin.click("#add-class button[type=submit]")
            assert f"已建立小学{year}级(0{n})班" in admin.locator(".flash").inner_text()
            row = admin.locator("tr", has_text=f"小学{year}级(0{n})班")
            assert f"{full_name}（{username}）" in row.inner_text()
            assert "无班主任角色" not in row.inner_text()
        _shot(admin, "06-classes")
        _back_to_checklist(admin)
        assert _is_done(admin, intake)
        assert _is_done(admin, "各班已指定班主任")

        # 5. the registrar, from its checklist line
        with admin.expect_navigation():
            _line(admin, "已任命学籍管理员").locator("a").click()
        with admin.expect_navigation():
            admin.locator("tr", has_text=REGISTRAR[0]).locator(
                "button", has_text="任命为学籍管理员"
            ).click()
        assert f"现任：{REGISTRAR[1]}（{REGISTRAR[0]}）" in admin.locator("#registrar").inner_text()
        _back_to_checklist(admin)
        for label in ("学校基本信息已核对", intake, "各班已指定班主任", "已任命学籍管理员"):
            assert _is_done(admin, label), label
        _shot(admin, "07-checklist-walked")
        # The new teachers are in 全体教师 without anyone adding them.
        with admin.expect_navigation():
            admin.locator("nav a", has_text="用户组管理").first.click()
        admin.click("#default-group summary")
        members = admin.locator("#default-group").inner_text()
        for username, full_name in (*TEACHERS, REGISTRAR):
            assert f"{full_name}（{username}）" in members, members
        assert "走查管理员" not in members
        # The set-up is in the school's audit log, each class with its 班主任.
        with admin.expect_navigation():
            admin.locator("nav a", has_text="审计日志").first.click()
        log = admin.locator("main").inner_text()
        assert f"小学{year}级(01)班：新增班级" in log
        assert f"{TEACHERS[0][1]}（{TEACHERS[0][0]}）" in log
        assert f"小学{year}级：新增年级" in log
        _shot(admin, "07b-audit-log")

        # -- the registrar registers one pupil by the form ---------------------------
        registrar = new_page()
        _login(registrar, school_url, REGISTRAR[0], passwords[REGISTRAR[0]])
        _change_password(registrar, passwords[REGISTRAR[0]])
        with registrar.expect_navigation():
            registrar.locator("nav a", has_text="学生名册").first.click()
        with registrar.expect_navigation():
            registrar.locator("main a", has_text="新增学生").first.click()
        _fill_student_form(registrar, rows["form"])
        _shot(registrar, "08-student-form")
        with registrar.expect_navigation():
            registrar.click(".form-actions button[type=submit]")
        assert registrar.locator(".flash.error").count() == 0, registrar.locator(
            ".flash.error"
        ).all_inner_texts()
        assert str(rows["form"]["name"]) in registrar.locator("main").inner_text()
        _shot(registrar, "09-student-saved")

        # -- and 20 more through the import page ------------------------------------
        with registrar.expect_navigation():
            registrar.locator("nav a", has_text="批量导入").first.click()
        registrar.set_input_files("input[type=file]", str(workbook))
        registrar.click("main button[type=submit]")
        registrar.wait_for_selector("text=确认导入", timeout=90_000)
        stats = registrar.locator(".stat .num").all_inner_texts()
        assert stats[:5] == ["20", "20", "0", "0", "0"], stats
        _shot(registrar, "10-import-report")
        with registrar.expect_navigation():
            registrar.click("button[value=all_or_nothing]")
        assert "已写入 20 名学生" in registrar.locator(".card.result").inner_text()
        _shot(registrar, "11-import-done")
        with registrar.expect_navigation():
            registrar.locator(".card.result a", has_text="查看待提交的学生").click()
        assert "共 21 人" in registrar.locator("main").inner_text()
        _shot(registrar, "12-students")

        # What the pages said is what the school holds.
        with school_context(f"s{CODE}"):
            assert Student.objects.count() == 21
            by_class = {
                c.class_no: (c.teacher_username, Student.objects.filter(school_class=c).count())
                for c in SchoolClass.objects.all()
            }
        connection.set_schema_to_public()
        assert by_class == {
            f"{year}101": (TEACHERS[0][0], 11),
            f"{year}102": (TEACHERS[1][0], 10),
        }
    finally:
        for context in contexts:
            context.close()
        connection.set_schema_to_public()
        school = School.objects.filter(code=CODE).first()
        if school is not None:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{school.schema_name}" CASCADE')
            Job.objects.filter(owner_schema=school.schema_name).delete()
            Domain.objects.filter(tenant=school).delete()
            school.delete()  # its index entries go with it
        Job.objects.filter(title__contains=NAME).delete()
