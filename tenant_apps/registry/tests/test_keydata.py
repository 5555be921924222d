"""关键数据变更 (issue 19 point 1, domain §3.19): a registered record's key fields change only
through an application with proof, 查重 on the new values first (an exact duplicate in
another school refuses it at once, masked), the school approver (never the applicant),
then the county; the change takes effect in one transaction (record, index entry, G
number, history) and an injected failure leaves nothing half-changed."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from PIL import Image

from conftest import World, login
from tenant_apps.registry.tests.factories import resident_id
from tenants.context import school_context

pytestmark = pytest.mark.django_db

BUREAU_RIGHTS = frozenset({"bureau.audit", "bureau.schools.view"})
BIRTH = dt.date(2017, 10, 1)


@dataclass(frozen=True)
class Pupil:
    pk: int
    uuid: uuid.UUID
    id_number: str


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


def _proof():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("户口簿.png", _png())


def _pupil(schema: str, name: str, serial: int, *, audit_state: str = "registered") -> Pupil:
    """A registered pupil with a resident ID, a G number and its index entry."""
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.services import current_school, index_record

    id_number = resident_id(BIRTH, serial)
    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=2024,
            number=9,
            defaults={"class_no": SchoolClass.make_class_no("primary", 2024, 9)},
        )
        student = Student.objects.create(
            name=name,
            sex="1" if serial % 2 else "2",
            birth_date=BIRTH,
            id_type="1",
            id_number=id_number,
            school_class=klass,
            entry_year_month="202409",
            status="01",
            audit_state=audit_state,
            number_kind="G",
            national_number=f"G{id_number}",
        )
        student = Student.objects.select_related("school_class").get(pk=student.pk)
        index_upsert(school_id=current_school().id, records=[index_record(student)])
    connection.set_schema_to_public()
    return Pupil(student.pk, student.identifier, id_number)


def _apply(client, pupil: Pupil, **values):
    body = {"reason": "户口簿姓名更正", "files": [_proof()], **values}
    response = client.post(f"/registry/students/{pupil.uuid}/keydata/new/", body)
    connection.set_schema_to_public()
    return response


def _record(schema: str, pupil: Pupil) -> dict[str, Any]:
    from shared_apps.student_index.keys import id_digest
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import KeyDataChange, Student

    with school_context(schema):
        s = Student.objects.get(pk=pupil.pk)
        state = {
            "name": s.name,
            "id_number": s.id_number,
            "sex": s.sex,
            "national_number": s.national_number,
            "changes": list(
                KeyDataChange.objects.filter(student_id=pupil.pk).values_list("state", flat=True)
            ),
            "events": [e for (e,) in s.events.values_list("action")],
        }
    connection.set_schema_to_public()
    entry = IndexEntry.objects.get(student_uuid=pupil.uuid)
    state["index_id"] = "old" if entry.id_hash == id_digest(pupil.id_number) else str(entry.id_hash)
    return state


def _case(schema: str, pupil: Pupil):
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import KeyDataChange

    with school_context(schema):
        change = KeyDataChange.objects.get(student_id=pupil.pk, state="open")
    connection.set_schema_to_public()
    assert change.case_id is not None
    return change.pk, Case.objects.get(pk=change.case_id)


def _bureau():
    from shared_apps.transfers.services import CaseActor

    return CaseActor("liuyang", "public", "430181000000", BUREAU_RIGHTS)


def test_name_and_id_change_takes_effect_after_school_and_county(world: World) -> None:
    from shared_apps.student_index.keys import id_digest
    from shared_apps.transfers.services import case_decide, case_detail_lines

    pupil = _pupil(world.a.schema, "关键甲", 11)
    new_id = resident_id(BIRTH, 13)
    registrar = login(world.a.host, "registrar")
    response = _apply(registrar, pupil, name="关键乙", id_number=new_id)
    assert response.status_code == 302, response.content.decode()
    change_id, case = _case(world.a.schema, pupil)
    # the public case names the fields, never their values
    assert case.kind == "KEY_DATA"
    assert case.payload["fields"] == ["id_number", "name"]
    assert new_id not in str(case.payload)
    assert "关键乙" not in str(case.summary)
    assert [s["owner"] for s in case.chain] == ["school", "bureau"]
    assert _record(world.a.schema, pupil)["name"] == "关键甲", "nothing changes on submission"

    approver = login(world.a.host, "approver")
    page = approver.get(f"/registry/keydata/{change_id}/").content.decode()
    assert "审核通过，报送教育局" in page
    assert "关键乙" in page  # the new name, in full inside the school
    assert new_id not in page  # ID numbers masked, as on every school page
    approver.post(f"/registry/keydata/{change_id}/decide/", {"decision": "approve"})
    connection.set_schema_to_public()
    _change_id, case = _case(world.a.schema, pupil)
    assert case.step == 1
    # the county sees old → new masked, and the proof as a link
    lines = dict(case_detail_lines(case))
    assert lines["姓名"] == "关*甲 → 关*乙"
    assert new_id not in lines["身份证件号"]
    assert "证明材料1" in lines

    case_decide(case_id=case.pk, actor=_bureau(), approve=True)
    after = _record(world.a.schema, pupil)
    assert after["name"] == "关键乙"
    assert after["id_number"] == new_id
    assert after["national_number"] == f"G{new_id}", "the G number follows the ID number"
    assert after["index_id"] == str(id_digest(new_id)), "the index entry is re-keyed"
    assert after["changes"] == ["done"]
    events = after["events"]
    assert any(e.startswith("申请关键数据变更（") for e in events)
    assert "关键数据变更学校审核通过：姓名、身份证件号" in events or (
        "关键数据变更学校审核通过：身份证件号、姓名" in events
    )
    assert any(e.startswith("关键数据变更生效（") for e in events)


def test_the_applicant_never_approves_their_own_application(world: World) -> None:
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from shared_apps.transfers.services import CaseActor
    from tenant_apps.registry.keydata.services import keydata_school_decide

    pupil = _pupil(world.a.schema, "自审甲", 21)
    registrar = login(world.a.host, "registrar")
    assert _apply(registrar, pupil, name="自审乙").status_code == 302
    change_id, _case_ = _case(world.a.schema, pupil)
    with school_context(world.a.schema), pytest.raises(ApplicationError) as exc:
        keydata_school_decide(
            change_id=change_id,
            approve=True,
            reason="",
            actor=Actor("registrar", "学籍员", world.a.schema),
            case_actor=CaseActor(
                "registrar", world.a.schema, None, frozenset({"registry.approve"})
            ),
        )
    connection.set_schema_to_public()
    assert exc.value.code == "maker_checker"
    assert "另一位" in exc.value.message
    assert _case(world.a.schema, pupil)[1].step == 0


def test_an_id_held_by_a_pupil_of_another_school_refuses_at_once_masked(world: World) -> None:
    from shared_apps.transfers.models import Case

    other = _pupil(world.b.schema, "别校丙", 31)
    pupil = _pupil(world.a.schema, "本校丁", 33)
    cases = Case.objects.count()
    registrar = login(world.a.host, "registrar")
    response = _apply(registrar, pupil, id_number=other.id_number)
    assert response.status_code == 200
    html = response.content.decode()
    assert "与已有学籍重复" in html
    assert "别*丙 4301**********" in html  # the other record, masked
    # the full number appears once: in the field the registrar typed it into
    assert html.count(other.id_number) == 1
    assert _record(world.a.schema, pupil)["changes"] == []
    assert Case.objects.count() == cases, "nothing was opened"


def test_proof_and_reason_are_required_and_an_unchanged_form_is_refused(world: World) -> None:
    pupil = _pupil(world.a.schema, "材料甲", 41)
    registrar = login(world.a.host, "registrar")
    no_proof = registrar.post(
        f"/registry/students/{pupil.uuid}/keydata/new/", {"name": "材料乙", "reason": "更正"}
    ).content.decode()
    assert "须上传证明材料" in no_proof
    no_reason = _apply(registrar, pupil, name="材料乙", reason="").content.decode()
    assert "请填写变更原因" in no_reason
    same = _apply(registrar, pupil, name="材料甲").content.decode()
    assert "没有需要变更的关键数据" in same
    bad = _apply(registrar, pupil, id_number=pupil.id_number[:-1] + "0").content.decode()
    assert "身份证" in bad
    connection.set_schema_to_public()
    assert _record(world.a.schema, pupil)["changes"] == []


def test_a_plain_edit_of_a_registered_record_cannot_change_a_key_field(world: World) -> None:
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.forms import student_raw
    from tenant_apps.registry.students.services import student_snapshot, student_update
    from tenant_apps.registry.tests.test_rollover import pupil

    actor = Actor("registrar", "学籍员", world.a.schema)
    with school_context(world.a.schema):
        pk = pupil(7)  # a complete record, registered
        student = Student.objects.get(pk=pk)
        raw = student_raw(student, student_snapshot(student))
        other_id = resident_id(student.birth_date, 901 if student.sex == "1" else 902)
        for key, value in (("name", "直改乙"), ("id_number", other_id)):
            with pytest.raises(ApplicationError) as exc:
                student_update(student_id=pk, raw=raw | {key: value}, actor=actor)
            assert exc.value.code == "key_data"
            assert "关键数据变更" in exc.value.message
            assert key in exc.value.extra
        # another field stays directly editable
        updated = student_update(student_id=pk, raw=raw | {"talents": "书法"}, actor=actor)
        assert updated.name == student.name
        assert student_snapshot(updated)["talents"] == "书法"
        # a draft (not yet audited) is still corrected directly
        Student.objects.filter(pk=pk).update(audit_state="draft")
        assert student_update(student_id=pk, raw=raw | {"name": "直改乙"}, actor=actor).name == (
            "直改乙"
        )
    connection.set_schema_to_public()


@pytest.mark.parametrize("point", ["keydata_after_record", "keydata_before_commit"])
def test_an_injected_failure_at_completion_leaves_nothing_half_changed(
    world: World, point: str
) -> None:
    from shared_apps.transfers.models import Case
    from shared_apps.transfers.services import case_decide
    from tenant_apps.registry.facade.move import InjectedFailure

    pupil = _pupil(world.a.schema, "故障甲", 61)
    registrar = login(world.a.host, "registrar")
    assert (
        _apply(registrar, pupil, name="故障乙", id_number=resident_id(BIRTH, 63)).status_code == 302
    )
    change_id, case = _case(world.a.schema, pupil)
    approver = login(world.a.host, "approver")
    approver.post(f"/registry/keydata/{change_id}/decide/", {"decision": "approve"})
    connection.set_schema_to_public()
    before = _record(world.a.schema, pupil)
    with override_settings(TRANSFERS_FAIL_AT=point), pytest.raises(InjectedFailure):
        case_decide(case_id=case.pk, actor=_bureau(), approve=True)
    connection.set_schema_to_public()
    assert _record(world.a.schema, pupil) == before
    assert before["name"] == "故障甲"
    assert before["index_id"] == "old"
    assert (Case.objects.get(pk=case.pk).state, Case.objects.get(pk=case.pk).step) == ("open", 1)
    # the same approval later succeeds
    case_decide(case_id=case.pk, actor=_bureau(), approve=True)
    assert _record(world.a.schema, pupil)["name"] == "故障乙"


def test_a_county_rejection_or_a_withdrawal_leaves_the_record(world: World) -> None:
    from shared_apps.transfers.services import case_decide

    pupil = _pupil(world.a.schema, "退回甲", 71)
    registrar = login(world.a.host, "registrar")
    assert _apply(registrar, pupil, name="退回乙").status_code == 302
    change_id, case = _case(world.a.schema, pupil)
    approver = login(world.a.host, "approver")
    approver.post(f"/registry/keydata/{change_id}/decide/", {"decision": "approve"})
    connection.set_schema_to_public()
    case_decide(case_id=case.pk, actor=_bureau(), approve=False, reason="证明材料不清晰")
    after = _record(world.a.schema, pupil)
    assert after["name"] == "退回甲"
    assert after["changes"] == ["rejected"]

    # a new application, withdrawn by the school
    assert _apply(registrar, pupil, name="退回乙").status_code == 302
    change_id, _case_ = _case(world.a.schema, pupil)
    response = registrar.post(f"/registry/keydata/{change_id}/withdraw/", {"reason": "填错了"})
    assert response.status_code == 302
    connection.set_schema_to_public()
    after = _record(world.a.schema, pupil)
    assert after["name"] == "退回甲"
    assert sorted(after["changes"]) == ["rejected", "withdrawn"]


def test_a_duplicate_that_appeared_after_the_application_stops_the_completion(
    world: World,
) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.transfers.services import case_decide

    pupil = _pupil(world.a.schema, "后重甲", 81)
    new_id = resident_id(BIRTH, 83)
    registrar = login(world.a.host, "registrar")
    assert _apply(registrar, pupil, id_number=new_id).status_code == 302
    change_id, case = _case(world.a.schema, pupil)
    approver = login(world.a.host, "approver")
    approver.post(f"/registry/keydata/{change_id}/decide/", {"decision": "approve"})
    connection.set_schema_to_public()
    # meanwhile another school registers a pupil with that very ID number
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.services import current_school, index_record

    with school_context(world.b.schema):
        klass = SchoolClass.objects.first() or SchoolClass.objects.create(
            stage="primary",
            entry_year=2024,
            number=9,
            class_no=SchoolClass.make_class_no("primary", 2024, 9),
        )
        other = Student.objects.create(
            name="后来者",
            sex="1",
            birth_date=BIRTH,
            id_type="1",
            id_number=new_id,
            school_class=klass,
            entry_year_month="202409",
            status="01",
            audit_state="registered",
        )
        other = Student.objects.select_related("school_class").get(pk=other.pk)
        index_upsert(school_id=current_school().id, records=[index_record(other)])
    connection.set_schema_to_public()
    with pytest.raises(ApplicationError) as exc:
        case_decide(case_id=case.pk, actor=_bureau(), approve=True)
    connection.set_schema_to_public()
    assert exc.value.code == "duplicate"
    assert "后*者" in exc.value.message
    assert _record(world.a.schema, pupil)["id_number"] == pupil.id_number


def test_the_edit_page_shows_the_key_fields_of_a_registered_record_as_fixed(
    world: World,
) -> None:
    import re

    from tenant_apps.registry.tests.test_rollover import pupil

    with school_context(world.a.schema):
        pk = pupil(8)
        from tenant_apps.registry.models import Student

        identifier = Student.objects.get(pk=pk).identifier
    connection.set_schema_to_public()
    registrar = login(world.a.host, "registrar")
    html = registrar.get(f"/registry/students/{identifier}/edit/").content.decode()
    connection.set_schema_to_public()
    for key in ("name", "id_number", "sex", "birth_date"):
        tag = re.search(rf'<(?:input|select)[^>]*name="{key}"[^>]*>', html)
        assert tag is not None, key
        assert "disabled" in tag.group(0), key
    assert "关键数据变更" in html
    phone = re.search(r'<input[^>]*name="phone"[^>]*>', html)
    assert phone is not None
    assert "disabled" not in phone.group(0)


def test_the_api_applies_decides_and_masks_as_the_pages_do(world: World) -> None:
    """/api/v1/key-data-changes/: the same application (proof required), the same masking
    (ID numbers masked, the name in full inside the school), the same maker ≠ checker,
    and an id of another school's application is a 404."""
    pupil = _pupil(world.a.schema, "接口甲", 41)
    new_id = resident_id(BIRTH, 43)
    registrar = login(world.a.host, "registrar")
    no_proof = registrar.post(
        "/api/v1/key-data-changes/",
        {"student_id": str(pupil.uuid), "reason": "更正", "id_number": new_id},
    )
    connection.set_schema_to_public()
    assert no_proof.status_code == 400
    assert _record(world.a.schema, pupil)["changes"] == []

    stray = registrar.post(
        "/api/v1/key-data-changes/",
        {
            "student_id": str(pupil.uuid),
            "reason": "更正",
            "values": '{"name": "接口乙", "current_address": "长沙"}',
            "files": [_proof()],
        },
    )
    connection.set_schema_to_public()
    assert stray.status_code == 400
    assert "现住址 不是关键数据字段" in stray.content.decode()
    assert _record(world.a.schema, pupil)["changes"] == []

    made = registrar.post(
        "/api/v1/key-data-changes/",
        {
            "student_id": str(pupil.uuid),
            "reason": "户口簿更正",
            "name": "接口乙",
            "id_number": new_id,
            "files": [_proof()],
        },
    )
    connection.set_schema_to_public()
    assert made.status_code == 201, made.content.decode()
    body = made.json()
    assert body["state"] == "open"
    shown = {v["field"]: v for v in body["values"]}
    assert shown["name"]["new"] == "接口乙"
    assert new_id not in made.content.decode()  # masked, as on the detail page
    assert shown["id_number"]["new"].startswith(new_id[:4])
    assert "*" in shown["id_number"]["new"]

    listed = registrar.get("/api/v1/key-data-changes/?state=open").json()
    connection.set_schema_to_public()
    assert [r["id"] for r in listed["results"]] == [body["id"]]
    detail = registrar.get(f"/api/v1/key-data-changes/{body['id']}/").json()
    connection.set_schema_to_public()
    assert [s["owner"] for s in detail["steps"]] == [world.a.name, "浏阳市教育局"]
    assert len(detail["evidence"]) == 1

    # The applicant may not decide it; the approver can.
    own = registrar.post(f"/api/v1/key-data-changes/{body['id']}/decision/", {"approve": True})
    connection.set_schema_to_public()
    assert own.status_code == 403  # a registrar holds no approval right
    approver = login(world.a.host, "approver")
    decided = approver.post(
        f"/api/v1/key-data-changes/{body['id']}/decision/",
        {"approve": True},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert decided.status_code == 200, decided.content.decode()
    assert _case(world.a.schema, pupil)[1].step == 1

    # School B cannot see or act on school A's application.
    other = login(world.b.host, "registrar")
    assert other.get(f"/api/v1/key-data-changes/{body['id']}/").status_code == 404
    connection.set_schema_to_public()
    withdraw = other.post(
        f"/api/v1/key-data-changes/{body['id']}/withdraw/",
        {"reason": "x"},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert withdraw.status_code == 404
