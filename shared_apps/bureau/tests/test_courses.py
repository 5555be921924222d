"""教育一科代为设置 (issue 15 item 6): a bureau officer sets a school's class courses on the
public host through the grades facade; the action is in the bureau's log and the school's
log (naming the officer and bureau), and another region's officer is refused."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _school_a(world: World) -> tuple[int, int, int, str, int]:
    from tenant_apps.grades.models import Course
    from tenant_apps.grades.terms import current_term
    from tenant_apps.registry.models import SchoolClass

    t = current_term()
    with school_context(world.a.schema):
        klass = SchoolClass.objects.get(class_no="2024101").pk
        chinese, maths = Course.objects.get(code="13").pk, Course.objects.get(code="14").pk
    connection.set_schema_to_public()
    return klass, chinese, maths, t.school_year, t.term


def _courses(world: World, klass: int) -> set[str]:
    from tenant_apps.grades.models import ClassCourse
    from tenant_apps.grades.terms import current_term

    t = current_term()
    with school_context(world.a.schema):
        codes = set(
            ClassCourse.objects.filter(
                school_class_id=klass, school_year=t.school_year, term=t.term
            ).values_list("course__code", flat=True)
        )
    connection.set_schema_to_public()
    return codes


def test_officer_sets_class_courses_audited_in_both_logs(world: World, bureau_host: str) -> None:
    from accounts.models import AuditEntry

    klass, chinese, maths, year, term = _school_a(world)
    officer = login(bureau_host, world.bureau_user)
    path = f"/bureau/schools/{world.a.id}/courses/"
    page = officer.get(path)
    assert page.status_code == 200
    assert "小学2024级(01)班" in page.content.decode()
    response = officer.post(
        path, {"class": klass, "courses": [chinese, maths], "year": year, "term": term}
    )
    assert response.status_code == 302
    assert _courses(world, klass) == {"13", "14"}
    public = AuditEntry.objects.filter(object_type="class_courses").latest("pk")
    assert (public.username, public.school, public.after["courses"]) == (
        world.bureau_user,
        world.a.schema,
        ["语文", "数学"],
    )
    with school_context(world.a.schema):
        entry = AuditEntry.objects.filter(object_type="class_courses").latest("pk")
        assert entry.username == world.bureau_user
        assert entry.user_display == "浏阳学籍"
        assert entry.after == {
            "courses": ["语文", "数学"],
            "by": "浏阳市教育局 浏阳学籍（liuyang）",
        }
        assert entry.before == {"courses": []}
        assert "浏阳市教育局代为设置" in entry.object_repr
    connection.set_schema_to_public()


def test_another_regions_officer_is_refused(world: World, bureau_host: str) -> None:
    from accounts.models import AuditEntry

    klass, chinese, _maths, year, term = _school_a(world)
    other = login(bureau_host, world.other_bureau_user)
    path = f"/bureau/schools/{world.a.id}/courses/"
    assert other.get(path).status_code == 404
    refused = other.post(path, {"class": klass, "courses": [chinese], "year": year, "term": term})
    assert refused.status_code == 404
    assert _courses(world, klass) == set()
    assert not AuditEntry.objects.filter(object_type="class_courses").exists()
    # the platform operator holds no 开通与停用学校
    assert login(bureau_host, "op").get(path).status_code == 403
