"""Look-ups across schools (issue 11, M7): the name with every number, a number looked up
only as what it is, a per-user budget (429 on the API, a Chinese message on the page),
and a read.lookup audit entry for each look-up."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings

from common.exceptions import ApplicationError
from conftest import World, login
from shared_apps.transfers.tests.helpers import make_student
from shared_apps.transfers.transfer import transfer_lookup
from tenants.context import school_context

OLD_ID = "430181201803015551"
NEW_ID = "430181201803015578"
L_NUMBER = "L430181201803010042"


def _renumber(schema: str, school_id: int, made: Any, **values: str) -> None:
    """Change the pupil's ID number or national number, index included."""
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import index_record

    with school_context(schema):
        Student.objects.filter(identifier=made.identifier).update(**values)
        student = Student.objects.select_related("school_class").get(identifier=made.identifier)
        index_upsert(school_id=school_id, records=[index_record(student)])
    connection.set_schema_to_public()


def _lookup(world: World, **asked: str) -> list[Any]:
    with school_context(world.a.schema):
        found = transfer_lookup(requesting_school_id=world.a.id, **asked)
    connection.set_schema_to_public()
    return found


def test_a_g_number_is_looked_up_as_a_national_number_with_the_name(
    public: None, world: World
) -> None:
    """A G number may differ from the ID after the ID changed: it is never read as an
    ID number, and never without the name."""
    # given: issued G<old ID>, then the ID number changed
    made = make_student(world.b.schema, world.b.id, name="查找甲乙丙", id_number=OLD_ID)
    _renumber(world.b.schema, world.b.id, made, id_number=NEW_ID)
    # then
    with pytest.raises(ApplicationError, match="须同时输入学生姓名"):
        _lookup(world, national_number=f"G{OLD_ID}")
    found = _lookup(world, name="查找甲乙丙", national_number=f"G{OLD_ID}")
    assert [f.student_uuid for f in found] == [str(made.identifier)]
    # G + the current ID is not this pupil's national number: nothing
    assert _lookup(world, name="查找甲乙丙", national_number=f"G{NEW_ID}") == []
    assert _lookup(world, name="别的名字", national_number=f"G{OLD_ID}") == []


def test_an_l_number_needs_the_name(public: None, world: World) -> None:
    made = make_student(world.b.schema, world.b.id, name="查找丁戊", id_number=OLD_ID)
    _renumber(world.b.schema, world.b.id, made, national_number=L_NUMBER, number_kind="L")
    with pytest.raises(ApplicationError, match="须同时输入学生姓名"):
        _lookup(world, national_number=L_NUMBER)
    assert [f.student_uuid for f in _lookup(world, name="查找丁戊", national_number=L_NUMBER)] == [
        str(made.identifier)
    ]


def test_intake_needs_the_name_with_a_national_number(public: None, world: World) -> None:
    from tenant_apps.registry.lifecycle.intake import intake_lookup

    make_student(world.a.schema, world.a.id, name="查找己庚", id_number=OLD_ID)
    with school_context(world.b.schema):
        for number in (f"G{OLD_ID}", L_NUMBER):
            with pytest.raises(ApplicationError, match="须同时输入学生姓名"):
                intake_lookup(name="", national_number=number)
    connection.set_schema_to_public()


def test_the_apis_refuse_a_number_without_the_name(public: None, world: World) -> None:
    make_student(world.b.schema, world.b.id, name="查找辛壬", id_number=OLD_ID)
    client = login(world.a.host, "registrar")
    transfer = client.post(
        "/api/v1/transfers/lookup/",
        {"national_number": f"G{OLD_ID}"},
        content_type="application/json",
    )
    intake = client.get("/api/v1/intake/lookup/", {"national_number": L_NUMBER})
    connection.set_schema_to_public()
    assert transfer.status_code == intake.status_code == 400
    assert "须同时输入学生姓名" in transfer.json()["error"]["message"]
    assert "须同时输入学生姓名" in intake.json()["error"]["message"]


def _lookup_entries(schema: str) -> list[dict[str, Any]]:
    from accounts.models import AuditEntry

    with school_context(schema):
        rows = list(
            AuditEntry.objects.filter(action="read.lookup")
            .order_by("id")
            .values("username", "object_type", "object_id", "object_repr", "after", "path")
        )
    connection.set_schema_to_public()
    return rows  # type: ignore[return-value]


def test_each_look_up_is_audited_masked_with_its_matches(public: None, world: World) -> None:
    # given
    made = make_student(world.b.schema, world.b.id, name="查找癸子", id_number=OLD_ID)
    client = login(world.a.host, "registrar")
    before = _lookup_entries(world.a.schema)
    # when: one transfer look-up that finds the pupil, one intake look-up that does not
    found = client.post(
        "/api/v1/transfers/lookup/",
        {"name": "查找癸子", "id_number": OLD_ID},
        content_type="application/json",
    )
    page = client.get("/registry/intake/", {"name": "查找癸子", "national_number": L_NUMBER})
    connection.set_schema_to_public()
    # then
    assert found.status_code == page.status_code == 200
    assert [r["student_uuid"] for r in found.json()["results"]] == [str(made.identifier)]
    entries = _lookup_entries(world.a.schema)[len(before) :]
    assert entries == [
        {
            "username": "registrar",
            "object_type": "lookup",
            "object_id": "transfer",
            "object_repr": "转学查找：姓名 查**子，身份证件号 4301**********5551；1条结果",
            "after": {
                "kind": "transfer",
                "name": "查**子",
                "id_number": "4301**********5551",
                "matches": 1,
            },
            "path": "/api/v1/transfers/lookup/",
        },
        {
            "username": "registrar",
            "object_type": "lookup",
            "object_id": "intake",
            "object_repr": "初中新生查找：姓名 查**子，全国学籍号 L430***********0042；0条结果",
            "after": {
                "kind": "intake",
                "name": "查**子",
                "national_number": "L430***********0042",
                "matches": 0,
            },
            "path": "/registry/intake/",
        },
    ]
    assert OLD_ID not in str(entries)


@override_settings(CROSS_SCHOOL_LOOKUP_RATE="3/h")
def test_look_ups_are_limited_per_user_on_page_and_api(public: None, world: World) -> None:
    # given: three look-ups of school A's registrar, by API and page
    make_student(world.b.schema, world.b.id, name="查找丑寅", id_number=OLD_ID)
    asked = {"name": "查找丑寅", "id_number": OLD_ID}
    client = login(world.a.host, "registrar")
    first = [
        client.post("/api/v1/transfers/lookup/", asked, content_type="application/json"),
        client.get("/api/v1/intake/lookup/", asked),
        client.post("/transfers/new/", asked),
    ]
    before = len(_lookup_entries(world.a.schema))
    # when: a fourth, fifth and sixth
    api = client.post("/api/v1/transfers/lookup/", asked, content_type="application/json")
    page = client.get("/registry/intake/", asked)
    transfer_page = client.post("/transfers/new/", asked)
    connection.set_schema_to_public()
    # then
    assert [r.status_code for r in first] == [200, 200, 200]
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "throttled"
    message = api.json()["error"]["message"]
    assert message.startswith("跨校查找过于频繁：每位用户1小时内最多查找3次，请")
    assert 1 <= int(api["Retry-After"]) <= 3600
    assert page.status_code == 429
    assert "跨校查找过于频繁" in page.content.decode()
    assert transfer_page.status_code == 429
    assert "跨校查找过于频繁" in transfer_page.content.decode()
    assert "查**寅" not in transfer_page.content.decode()  # no result was looked up
    assert len(_lookup_entries(world.a.schema)) == before  # nothing more was looked up
    # another user (school B's registrar, whatever its id) still has a budget
    other = login(world.b.host, "registrar").post(
        "/api/v1/transfers/lookup/",
        {"name": "查找丑寅", "id_number": OLD_ID},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert other.status_code == 200


@override_settings(CROSS_SCHOOL_LOOKUP_LIST_RATE="1/h")
def test_uploaded_lists_are_limited_and_audited(public: None, world: World) -> None:
    from tenant_apps.registry.tests.test_intake import _junior_class

    klass = _junior_class(world.c.schema)
    client = login(world.c.host, "registrar")

    def upload() -> Any:
        data = "姓名,身份证件号\n查找卯辰,\n".encode()
        return client.post(
            "/registry/intake/batch/",
            {"file": SimpleUploadedFile("名单.csv", data), "target_class": klass},
        )

    first, second = upload(), upload()
    connection.set_schema_to_public()
    assert first.status_code == 200
    assert "至少填写一项" in first.content.decode()
    assert second.status_code == 429
    assert "每位用户1小时内最多上传名单1次" in second.content.decode()
    entries = _lookup_entries(world.c.schema)
    assert [(e["object_id"], e["after"]) for e in entries] == [
        ("intake_list", {"kind": "intake_list", "matches": 0, "rows": 1})
    ]
