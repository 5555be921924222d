"""国家校验结果导入 in a real browser: the county officer uploads the national system's
results, reads the dry run per school (masked names, counts, refused rows) at desktop
width and at 360 px, confirms, and the pupils get their G number or a problem record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from conftest import World
from tenant_apps.registry.tests.factories import resident_id
from tests.test_browser import ARTIFACTS, _login, chromium_browser, server  # noqa: F401

pytestmark = [pytest.mark.browser]
BIRTH = dt.date(2017, 12, 3)
FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


def _pupils(world: World, serials: range) -> list[tuple[int, str, str]]:
    """Registered pupils of school A with L numbers: (pk, name, id_number)."""
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.services import (
        current_school,
        index_record,
        temporary_numbers,
    )
    from tenants.context import school_context

    out = []
    with school_context(world.a.schema):
        klass = SchoolClass.objects.filter(stage="primary", entry_year=2024).first()
        assert klass is not None
        for n in serials:
            id_number = resident_id(BIRTH, n)
            s = Student.objects.create(
                name=f"校验生{'甲乙丙丁'[n % 4]}",
                sex="1" if n % 2 else "2",
                birth_date=BIRTH,
                id_type="1",
                id_number=id_number,
                school_class=klass,
                entry_year_month="202409",
                audit_state="registered",
                number_kind="L",
                national_number=temporary_numbers(current_school().area, [BIRTH])[0],
            )
            s = Student.objects.select_related("school_class").get(pk=s.pk)
            index_upsert(school_id=current_school().id, records=[index_record(s)])
            out.append((s.pk, s.name, id_number))
    connection.set_schema_to_public()
    return out


def _cleanup(world: World, pks: list[int]) -> None:
    from shared_apps.student_index.services import index_remove
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    with school_context(world.a.schema):
        uuids = list(Student.objects.filter(pk__in=pks).values_list("identifier", flat=True))
        Student.objects.filter(pk__in=pks).delete()
    connection.set_schema_to_public()
    index_remove(student_uuids=uuids)


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1366, 900), ("360", 360, 780)])
def test_the_county_previews_and_confirms_the_national_results(
    live_db: World,
    server: int,  # noqa: F811
    chromium_browser,  # noqa: F811
    tmp_path: Path,
    label: str,
    width: int,
    height: int,
) -> None:
    from tenant_apps.registry.models import ProblemRecord, Student
    from tenants.context import school_context

    serials = range(1, 4) if label == "desktop" else range(11, 14)
    pupils = _pupils(live_db, serials)
    (p1, n1, id1), (p2, n2, id2), (_p3, n3, id3) = pupils
    lines = [
        "全国学籍号,身份证件号,姓名,结果,说明",
        f",{id1},{n1},通过,",
        f",{id2},{n2},身份证号不存在,公安人口库无此号",
        f",{id3},{n3},身份证号与姓名不匹配,",
        f",{resident_id(BIRTH, 99)},无此人,通过,",
    ]
    results = tmp_path / "国家校验结果.csv"
    results.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    bureau = f"http://{settings.BASE_DOMAIN}:{server}"
    context = chromium_browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    shot = lambda name: page.screenshot(  # noqa: E731
        path=str(ARTIFACTS / f"verification-{name}-{label}.png"), full_page=True
    )
    try:
        _login(page, bureau, live_db.bureau_user)
        page.goto(f"{bureau}/bureau/verification/")
        page.set_input_files("input[type=file]", str(results))
        with page.expect_navigation():
            page.click("button:has-text('上传并预览')")
        content = page.content()
        assert "本辖区学校中没有找到该学生" in content
        assert "转为问题学籍：身份证件号不存在" in content
        assert id1 not in content
        assert n1 not in content  # masked
        assert page.evaluate(FITS_JS)
        shot("preview")
        with page.expect_navigation():
            page.click("button:has-text('确认导入')")
        assert "1人通过校验并分配正式学籍号，2人转为问题学籍" in page.content()
        assert page.evaluate(FITS_JS)
        shot("done")
        with school_context(live_db.a.schema):
            assert Student.objects.get(pk=p1).national_number == "G" + id1
            kinds = set(
                ProblemRecord.objects.filter(
                    student_id__in=[p for p, _n, _i in pupils]
                ).values_list("kind", flat=True)
            )
        connection.set_schema_to_public()
        assert kinds == {"id_not_found", "id_name_mismatch"}
        # the school works them in 问题学籍; 变更 asks for the proof
        context.clear_cookies()
        school = f"http://{live_db.a.host}:{server}"
        _login(page, school, "registrar")
        page.goto(f"{school}/registry/problems/")
        content = page.content()
        assert "身份证件号不存在" in content
        assert "公安人口库无此号" in content
        assert "与之重复的学籍" not in content  # no other record to show for these kinds
        page.click("summary:has-text('修改后重新查重') >> nth=0")
        assert page.is_visible("text=证明材料")
        assert page.evaluate(FITS_JS)
        shot("school-problems")
    finally:
        context.close()
        _cleanup(live_db, [p for p, _n, _i in pupils])
