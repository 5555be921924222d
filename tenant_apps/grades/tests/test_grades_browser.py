"""The subject teacher's grade entry in Debian Chromium: the list of his or her cells,
one grid saved, a wrong score refused beside its row. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from conftest import SENTINEL_STUDENT, World
from tenants.context import school_context
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_subject_teacher_enters_a_grid(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
) -> None:
    from tenant_apps.grades.models import ClassCourse, Course, Mark, TeachingAssignment
    from tenant_apps.grades.terms import current_term
    from tenant_apps.registry.models import SchoolClass

    term = current_term()
    with school_context(live_db.a.schema):
        cell = ClassCourse.objects.create(
            school_class=SchoolClass.objects.get(class_no="2024101"),
            course=Course.objects.get(code="13"),
            school_year=term.school_year,
            term=term.term,
        )
        TeachingAssignment.objects.create(class_course=cell, user_username="subject")
    try:
        url = f"http://{live_db.a.host}:{server}"
        context = chromium_browser.new_context(viewport={"width": 1366, "height": 800})
        page = context.new_page()
        _login(page, url, "subject")
        page.click("text=成绩录入")
        page.wait_for_load_state()
        assert page.locator("main h1").inner_text() == "成绩录入"
        assert "小学2024级(01)班" in page.locator("table").inner_text()
        page.screenshot(path=str(ARTIFACTS / "grades-entry-list.png"), full_page=True)
        page.click("text=录入成绩")
        page.wait_for_load_state()
        page.select_option("select[name^=level_]", label="优秀")
        page.fill("input[name^=score_]", "100.5")
        page.click("text=保存成绩单")
        page.wait_for_load_state()
        assert "分数“100.5”无效" in page.locator(".error-text").first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "grades-entry-error.png"), full_page=True)
        page.fill("input[name^=score_]", "96.5")
        page.click("text=保存成绩单")
        page.wait_for_load_state()
        assert "已保存：1 人录入或修改" in page.locator(".flash.success").inner_text()
        assert SENTINEL_STUDENT in page.locator("table").inner_text()
        page.screenshot(path=str(ARTIFACTS / "grades-entry-grid.png"), full_page=True)
        context.close()
        # the administrator's pages for the same term: 班级课程 and 成绩录入权限
        context = chromium_browser.new_context(viewport={"width": 1366, "height": 800})
        page = context.new_page()
        _login(page, url, "admin")
        page.click("text=班级课程")
        page.wait_for_load_state()
        assert page.locator("main h1").inner_text() == "班级课程"
        page.screenshot(path=str(ARTIFACTS / "grades-class-courses.png"), full_page=True)
        page.click("text=录入权限")
        page.wait_for_load_state()
        assert "小学2024级(01)班·语文" in page.locator("table").inner_text()
        page.screenshot(path=str(ARTIFACTS / "grades-assignments.png"), full_page=True)
        # the marks section of the student's page, read-only
        with school_context(live_db.a.schema):
            from tenant_apps.registry.models import Student

            pupil = str(Student.objects.get(name=SENTINEL_STUDENT).identifier)
        page.goto(f"{url}/registry/students/{pupil}/")
        marks = page.locator("#marks")
        assert "96.5" in marks.inner_text()
        marks.screenshot(path=str(ARTIFACTS / "grades-student-marks.png"))
        context.close()
        with school_context(live_db.a.schema):
            assert [(m.level, str(m.score)) for m in Mark.objects.all()] == [(4, "96.5")]
    finally:
        with school_context(live_db.a.schema):
            Mark.objects.all().delete()
            ClassCourse.objects.filter(pk=cell.pk).delete()
