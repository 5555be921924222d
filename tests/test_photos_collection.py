"""照片采集 for the whole school (issue 17 points 1, 4, 6, 8): the national package's
layout exactly (grade/class/ID number, the no-ID folder and rule), made by a job whose
result opens for its owner only; the completeness counts per class exactly; the intake
deadline banner from September; the bureau's 缺照片 figure and list; the photo on the
学籍卡片."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from functools import cache

import pytest
from django.db import connection

from common.actor import Actor
from conftest import World, login
from tenants.context import school_context
from tests.test_photos_single import Pupil, blue_jpeg, pupil

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")


@cache
def _normalised():
    from tenant_apps.registry.photos.normalise import normalise

    return normalise(blue_jpeg())


def _give_photo(schema: str, p: Pupil, *, status: str = "current") -> str:
    from tenant_apps.registry.photos import services

    with school_context(schema):
        photo = services.photo_store(
            student_id=p.pk, result=_normalised(), actor=ACTOR, source="bulk", status=status
        )
        return photo.file_key


def _set(schema: str, p: Pupil, **values: object) -> None:
    from tenant_apps.registry.models import Student

    with school_context(schema):
        Student.objects.filter(pk=p.pk).update(**values)


def _class_of(schema: str, p: Pupil) -> tuple[int, str, str]:
    from tenant_apps.registry.models import Student

    with school_context(schema):
        k = Student.objects.select_related("school_class").get(pk=p.pk).school_class
        return k.pk, k.name, k.class_no


def test_the_national_package_layout_exactly(world: World) -> None:
    from tenant_apps.registry.classes.services import grade_label
    from tenant_apps.registry.photos import exports

    a = world.a.schema
    with_id = pupil(a, "包甲")
    _set(a, with_id, id_number="43018120170101001x")
    no_id = pupil(a, "包 乙")  # a space in the name: left out of the file name
    twin1, twin2 = pupil(a, "同名"), pupil(a, "同名")
    no_photo = pupil(a, "包丙")
    _set(a, no_photo, id_number="430181201701010029")
    left = pupil(a, "包丁")
    _set(a, left, id_number="430181201701010037")
    for p in (with_id, no_id, twin1, twin2, left):
        _give_photo(a, p)
    _set(a, left, status="10")  # 转出: not in school, not in the package
    pending = pupil(a, "包戊")
    _set(a, pending, id_number="430181201701010045")
    _give_photo(a, pending, status="pending")  # not decided: not in the package

    _id, class_name, class_no = _class_of(a, with_id)
    grade = grade_label("primary", 2024)
    code = world.a.code
    with school_context(a):
        entries = exports.export_entries()
        data = exports.export_zip(entries)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == [
        f"{grade}/{class_name}/43018120170101001X.jpg",
        f"无身份证件号/{code}_{class_no}_包乙.jpg",
        f"无身份证件号/{code}_{class_no}_同名.jpg",
        f"无身份证件号/{code}_{class_no}_同名_4.jpg",
    ]
    archive = zipfile.ZipFile(io.BytesIO(data))
    for info in archive.infolist():
        body = archive.read(info)
        assert body == _normalised().jpeg, "the stored national file, not re-encoded"
        assert info.flag_bits & 0x800, "UTF-8 names"


def test_the_export_runs_as_a_job_and_opens_for_its_owner_only(world: World) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.tasks import photos_export_run

    p = pupil(world.a.schema, "包己")
    _set(world.a.schema, p, id_number="430181201701010053")
    _give_photo(world.a.schema, p)
    registrar = login(world.a.host, "registrar")
    started = registrar.post("/registry/photos/export/")
    assert started.status_code == 302
    assert "?job=" in started["Location"]
    connection.set_schema_to_public()
    job_id = started["Location"].split("?job=")[1]
    # The task is sent on commit, which a test's transaction never reaches: run it here,
    # in the school, as the worker would.
    with school_context(world.a.schema):
        assert photos_export_run(job_id) == 1
    job = Job.objects.get(pk=job_id)
    assert job.state == "succeeded", job.message
    assert job.message == "已导出 1 张照片，点击“查看结果”下载（24小时内有效）。"
    link = job.result_url
    assert link.startswith("/registry/photos/export/")
    opened = registrar.get(link)
    assert opened.status_code == 302
    assert opened["Location"].startswith("/files/")
    connection.set_schema_to_public()
    admin = login(world.a.host, "admin")  # not 照片采集
    assert admin.get(link).status_code == 403
    connection.set_schema_to_public()
    assert login(world.b.host, "registrar").get(link).status_code == 404


def test_completeness_counts_per_class_exactly_and_the_deadline_banner(world: World) -> None:
    from tenant_apps.registry.photos import selectors

    a = world.a.schema
    intake = [pupil(a, f"新生{i}", entry_year=2026) for i in range(4)]
    older = [pupil(a, f"老生{i}", entry_year=2024) for i in range(3)]
    _give_photo(a, intake[0])
    _give_photo(a, intake[1], status="pending")  # pending is not a photo yet
    _give_photo(a, older[2])
    draft = pupil(a, "草稿生", entry_year=2026)
    _set(a, draft, audit_state="draft")  # not 在读 yet: not counted
    intake_class, intake_name, _ = _class_of(a, intake[0])
    older_class, older_name, _ = _class_of(a, older[0])
    with school_context(a):
        rows = selectors.completeness(class_ids=[intake_class, older_class])
        before = selectors.missing_count(entry_year=2026)
        banner_aug = selectors.deadline_banner(today=dt.date(2026, 8, 31))
        banner_sep = selectors.deadline_banner(today=dt.date(2026, 9, 30))
        banner_oct = selectors.deadline_banner(today=dt.date(2026, 10, 1))
    by_name = {r.class_name: r for r in rows}
    assert [r.class_name for r in rows] == [older_name, intake_name]  # class number order
    assert (by_name[intake_name].pupils, by_name[intake_name].with_photo) == (4, 1)
    assert [m.name for m in by_name[intake_name].missing] == ["新生1", "新生2", "新生3"]
    assert (by_name[older_name].pupils, by_name[older_name].missing_count) == (3, 2)
    assert [m.name for m in by_name[older_name].missing] == ["老生0", "老生1"]
    assert banner_aug == ""
    assert banner_sep == f"新生照片请于9月30日前采集完成：还差 {before} 名"
    assert banner_oct == f"新生照片采集已过9月30日期限：还差 {before} 名"
    assert before >= 3

    registrar = login(world.a.host, "registrar")
    page = registrar.get("/registry/photos/").content.decode()
    assert ">新生1</a>、" in page
    assert "老生0" in page
    assert "老生2" not in page.split("各班照片采集情况")[1]  # has a photo


def test_the_bureau_sees_missing_photos_per_school(world: World, bureau_host: str) -> None:
    from tenant_apps.registry.facade import quality_items, school_quality
    from tenant_apps.registry.facade.quality import FIGURE_BY_KEY

    a = world.a

    def figure() -> int:
        values = school_quality(schema_name=a.schema, school_id=a.id)
        return next(v.count for v in values if v.key == "no_photo")

    base = figure()
    one, two = pupil(a.schema, "局看甲"), pupil(a.schema, "局看乙")
    assert figure() == base + 2
    _give_photo(a.schema, one)
    assert figure() == base + 1
    _give_photo(a.schema, two, status="pending")
    assert figure() == base + 1
    assert FIGURE_BY_KEY["no_photo"].label == "缺照片"
    page = quality_items(schema_name=a.schema, school_id=a.id, figure="no_photo", limit=None)
    assert page.total == base + 1
    listed = {i.ref: i for i in page.items}
    assert str(two.uuid) in listed
    assert str(one.uuid) not in listed
    assert listed[str(two.uuid)].name == "局*乙"  # masked
    assert listed[str(two.uuid)].detail == "未采集照片"


def test_the_student_card_carries_the_photo(world: World) -> None:
    from accounts.models import User
    from tenant_apps.reports.printing.selectors import Target
    from tenant_apps.reports.printing.services import print_make

    a = world.a.schema
    shot, bare = pupil(a, "卡片甲"), pupil(a, "卡片乙")
    _give_photo(a, shot)
    with school_context(a):
        user = User.objects.get(username="registrar")
        with_photo = print_make(
            target=Target("card", "student", str(shot.uuid)),
            fmt="pdf",
            full=False,
            school_name="测试甲小学",
            user=user,
        )
        without = print_make(
            target=Target("card", "student", str(bare.uuid)),
            fmt="pdf",
            full=False,
            school_name="测试甲小学",
            user=user,
        )
    assert with_photo.data.count(b"/Subtype /Image") == 1
    assert b"/Subtype /Image" not in without.data
