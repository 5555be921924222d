"""Division codes on records (domain.md §2.2): a new record needs a current code, an
existing one keeps a code that was valid at its date (services.record_date), and the
refusal names the replacement — in single entry, edits and the import's row report."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from openpyxl import Workbook

from common.actor import Actor
from common.exceptions import ApplicationError
from conftest import World
from tenant_apps.registry.fields import COLUMNS
from tenant_apps.registry.models import Student
from tenant_apps.registry.students import services
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db
BASE = 23000  # valid_row seqs no other test registers
# 渝北区 500112 went into 两江新区 500157 in 2025 (its 双龙湖街道 500112002 is 500157007):
# valid on a record entered 202409.
YUBEI = "500112002001"
# 宁乡县 430124 became 宁乡市 430182 in 2017: too old for any record entered 202409.
NINGXIANG = "430124108201"


@pytest.fixture
def school_a(world: World) -> Iterator[World]:
    with school_context(world.a.schema):
        yield world
    connection.set_schema_to_public()


def _actor(world: World) -> Actor:
    return Actor(username="registrar", name="学籍员", schema=world.a.schema)


def _old_record(world: World, seq: int, **stored: str) -> Student:
    """A registered record carrying `stored` codes as it kept them since its entry (in
    202409): written past the validator, which today would refuse them on a new record."""
    student = services.student_register(raw=valid_row(seq=BASE + seq), actor=_actor(world))
    Student.objects.filter(pk=student.pk).update(**stored)
    return Student.objects.get(pk=student.pk)


def _raw(student: Student, **changes: str) -> dict[str, Any]:
    from tenant_apps.registry.students.forms import student_raw

    student = Student.objects.prefetch_related("family").get(pk=student.pk)
    return student_raw(student, services.student_snapshot(student)) | changes


def test_the_record_date_is_the_entry_month_or_an_earlier_creation(school_a: World) -> None:
    student = _old_record(school_a, 0)
    assert services.record_date(student) == dt.date(2024, 9, 1)
    student.created_at = dt.datetime(2024, 7, 15, 10, 0, tzinfo=dt.UTC)
    assert services.record_date(student) == dt.date(2024, 7, 15)


def test_a_new_record_with_a_former_code_is_refused_naming_the_replacement(
    school_a: World,
) -> None:
    with pytest.raises(ApplicationError) as caught:
        services.student_register(
            raw=valid_row(seq=BASE + 1, birthplace=YUBEI), actor=_actor(school_a)
        )
    assert caught.value.extra["birthplace"] == [
        "出生地：行政区划代码的前9位“500112002”（双龙湖街道）已不在现行区划表中"
        "（2025年仍在使用），现为“500157007”（双龙湖街道），请改用新代码。"
    ]
    assert not Student.objects.filter(birthplace=YUBEI).exists()


def test_an_old_record_keeps_a_former_code_valid_at_its_date_when_other_fields_change(
    school_a: World,
) -> None:
    student = _old_record(school_a, 2, birthplace=YUBEI, household_region=YUBEI)
    updated = services.student_update(
        student_id=student.pk,
        raw=_raw(student, home_address="重庆市渝北区某路1号"),
        actor=_actor(school_a),
    )
    stored = Student.objects.filter(pk=updated.pk).values_list(
        "birthplace", "household_region", "home_address"
    )
    assert list(stored) == [(YUBEI, YUBEI, "重庆市渝北区某路1号")]


def test_an_old_record_may_not_take_a_code_abolished_before_its_date(school_a: World) -> None:
    student = _old_record(school_a, 3)
    with pytest.raises(ApplicationError) as caught:
        services.student_update(
            student_id=student.pk,
            raw=_raw(student, birthplace=NINGXIANG),
            actor=_actor(school_a),
        )
    assert caught.value.extra["birthplace"] == [
        "出生地：行政区划代码的前9位“430124108”（偕乐桥镇）已不在现行区划表中"
        "（2017年仍在使用），所属县级区划现为“430182”（宁乡市），请改用新代码。"
    ]


def test_the_import_report_names_row_field_and_replacement(
    school_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenant_apps.registry.imports import pipeline as imports
    from tenant_apps.registry.tasks import import_validate_task

    monkeypatch.setattr(import_validate_task, "delay", lambda *args: None)
    rows = [valid_row(seq=BASE + 10 + i) for i in range(3)]
    rows[1]["m1_household_region"] = NINGXIANG  # the file's row 3
    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in COLUMNS])  # type: ignore[union-attr]
    for row in rows:
        sheet.append([row.get(c.key, "") for c in COLUMNS])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    book.save(buffer)
    batch = imports.import_start(
        filename="p.xlsx", data=buffer.getvalue(), actor=_actor(school_a), owner_id=1
    )
    done = imports.import_validate(batch_id=str(batch.id))
    default_storage.delete(batch.file_key)
    assert done.counts["invalid"] == 1
    assert [(e["row"], e["key"], e["kind"], e["message"]) for e in done.errors] == [
        (
            3,
            "m1_household_region",
            "region_former",
            "成员1户口所在地：行政区划代码的前9位“430124108”（偕乐桥镇）已不在现行区划表中"
            "（2017年仍在使用），所属县级区划现为“430182”（宁乡市），请改用新代码。",
        )
    ]


def test_the_api_keeps_an_old_record_s_former_code_and_names_the_replacement(
    world: World,
) -> None:
    from conftest import login

    registrar = login(world.a.host, "registrar")
    created = registrar.post(
        "/api/v1/students/", valid_row(seq=BASE + 20), content_type="application/json"
    )
    connection.set_schema_to_public()
    assert created.status_code == 201, created.content
    sid = str(created.json()["id"])
    with school_context(world.a.schema):
        Student.objects.filter(identifier=sid).update(birthplace=YUBEI)
        raw = _raw(Student.objects.get(identifier=sid), phone="13912345678")
    connection.set_schema_to_public()

    kept = registrar.put(f"/api/v1/students/{sid}/", raw, content_type="application/json")
    connection.set_schema_to_public()
    assert kept.status_code == 200, kept.content
    refused = registrar.put(
        f"/api/v1/students/{sid}/", raw | {"birthplace": NINGXIANG}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["birthplace"] == [
        "出生地：行政区划代码的前9位“430124108”（偕乐桥镇）已不在现行区划表中"
        "（2017年仍在使用），所属县级区划现为“430182”（宁乡市），请改用新代码。"
    ]
    with school_context(world.a.schema):
        stored = Student.objects.filter(identifier=sid).values_list("birthplace", "phone")
        assert list(stored) == [(YUBEI, "13912345678")]
    connection.set_schema_to_public()
