"""营养改善计划 in a real browser, desktop and 360 px: the registrar ticks a pupil of a
programme school and sees that another school claims the same child; the county's
officer sees the programme schools, the month's counts and the same flag."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.db import connection

from conftest import World
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser]
FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
ID_NUMBER = "430181201803010075"


def _setup(world: World) -> int:
    """A and B in the programme; the same child in both, ticked in B. Returns A's pupil."""
    from common.actor import Actor
    from shared_apps.nutrition.services import programme_mark
    from shared_apps.transfers.tests.helpers import make_student
    from tenant_apps.registry.models import Student
    from tenant_apps.rosters.programme.services import beneficiaries_save
    from tenants.context import school_context

    connection.set_schema_to_public()
    for ref in (world.a, world.b):
        programme_mark(
            school_id=ref.id, school_name=ref.name, on=dt.date(2026, 9, 1), actor_label="局"
        )
    made_a = make_student(
        world.a.schema, world.a.id, name="浏览受益", id_number=ID_NUMBER, with_marks=False
    )
    made_b = make_student(
        world.b.schema, world.b.id, name="浏览受益", id_number=ID_NUMBER, with_marks=False
    )
    with school_context(world.b.schema):
        pk_b = Student.objects.get(identifier=made_b.identifier).pk
        beneficiaries_save(
            tick=[pk_b],
            untick=[],
            on=dt.date(2026, 9, 1),
            actor=Actor(username="registrar", name="乙校", schema=world.b.schema),
        )
    with school_context(world.a.schema):
        pk_a = Student.objects.get(identifier=made_a.identifier).pk
    connection.set_schema_to_public()
    return pk_a


def _cleanup(world: World) -> None:
    from shared_apps.nutrition.models import BeneficiaryClaim, ProgrammeSchool
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import Student
    from tenant_apps.rosters.models import Beneficiary
    from tenants.context import school_context

    connection.set_schema_to_public()
    made: list[uuid.UUID] = []
    for ref in (world.a, world.b):
        with school_context(ref.schema):
            Beneficiary.objects.all().delete()
            made += list(
                Student.objects.filter(name="浏览受益").values_list("identifier", flat=True)
            )
            Student.objects.filter(name="浏览受益").delete()
    connection.set_schema_to_public()
    IndexEntry.objects.filter(student_uuid__in=made).delete()
    BeneficiaryClaim.objects.all().delete()
    ProgrammeSchool.objects.all().delete()


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1366, 900), ("360", 360, 780)])
def test_registrar_ticks_a_pupil_and_both_sides_see_the_double_claim(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    label: str,
    width: int,
    height: int,
) -> None:
    school = f"http://{live_db.a.host}:{server}"
    bureau = f"http://{settings.BASE_DOMAIN}:{server}"
    try:
        pk = _setup(live_db)
        context = chromium_browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _login(page, school, "registrar")
        page.goto(f"{school}/rosters/programme/")
        assert "为营养改善计划学校" in page.content()
        assert "需要核实的受益学生" not in page.content()
        page.check(f"input[name=ids][value='{pk}']")
        with page.expect_navigation():
            page.click("text=保存受益学生")
        content = page.content()
        assert "新增受益学生 1 名" in content
        assert f"{live_db.b.name}自2026-09-01起也申报该学生为受益学生（身份证件号相同）" in content
        assert page.evaluate(FITS_JS)
        page.screenshot(path=str(ARTIFACTS / f"programme-school-{label}.png"), full_page=True)
        page.click("text=月度受益学生名册")
        page.wait_for_load_state()
        assert "浏览受益" in page.content()
        assert page.evaluate(FITS_JS)
        page.screenshot(path=str(ARTIFACTS / f"programme-roster-{label}.png"), full_page=True)
        context.close()

        context = chromium_browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _login(page, bureau, live_db.bureau_user)
        page.goto(f"{bureau}/bureau/nutrition/")
        assert "退出计划" in page.content()
        assert page.evaluate(FITS_JS)
        page.screenshot(path=str(ARTIFACTS / f"programme-county-{label}.png"), full_page=True)
        page.click("nav >> text=受益学生核查")
        page.wait_for_load_state()
        flags = page.content()
        assert flags.count("身份证件号相同") == 2
        assert "浏**益" in flags
        assert "浏览受益" not in flags
        assert page.evaluate(FITS_JS)
        page.screenshot(path=str(ARTIFACTS / f"programme-county-flags-{label}.png"), full_page=True)
        page.click("nav >> text=受益学生统计")
        page.wait_for_load_state()
        assert live_db.a.name in page.content()
        page.screenshot(
            path=str(ARTIFACTS / f"programme-county-counts-{label}.png"), full_page=True
        )
        context.close()
    finally:
        _cleanup(live_db)
