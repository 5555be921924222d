"""National verification as a state (issue 19 point 3, domain §3.2 steps 8–9): the county's
approval registers a record with its L number; the county imports the national system's
results, previews them per school and confirms them in one transaction: passed rows get
the G (or J) number, failures open problem records of their kinds; rows of another
county are refused, an injected failure leaves everything as before. 变更 needs proof
(point 4, domain §3.4)."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from PIL import Image

from conftest import World, login
from tenant_apps.registry.tests.factories import resident_id
from tenants.context import school_context

pytestmark = pytest.mark.django_db

BIRTH = dt.date(2017, 11, 2)


@dataclass(frozen=True)
class Pupil:
    pk: int
    uuid: uuid.UUID
    name: str
    id_number: str
    national_number: str


def _pupil(
    schema: str,
    name: str,
    serial: int,
    *,
    audit_state: str = "registered",
    with_id: bool = True,
    county: str = "430181",
) -> Pupil:
    """A pupil with its L number and index entry, as the county's approval leaves it."""
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.services import (
        current_school,
        index_record,
        temporary_numbers,
    )

    id_number = resident_id(BIRTH, serial, county) if with_id else ""
    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=2024,
            number=8,
            defaults={"class_no": SchoolClass.make_class_no("primary", 2024, 8)},
        )
        number = temporary_numbers(current_school().area, [BIRTH])[0]
        student = Student.objects.create(
            name=name,
            sex="1" if serial % 2 else "2",
            birth_date=BIRTH,
            id_type="1" if with_id else "9",
            id_number=id_number,
            school_class=klass,
            entry_year_month="202409",
            status="01",
            audit_state=audit_state,
            number_kind="L",
            national_number=number,
            submitted_by="registrar",
        )
        student = Student.objects.select_related("school_class").get(pk=student.pk)
        index_upsert(school_id=current_school().id, records=[index_record(student)])
    connection.set_schema_to_public()
    return Pupil(student.pk, student.identifier, name, id_number, number)


def _state(schema: str, pupil: Pupil) -> dict[str, Any]:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import Student

    with school_context(schema):
        s = Student.objects.get(pk=pupil.pk)
        state: dict[str, Any] = {
            "audit_state": s.audit_state,
            "number": s.national_number,
            "kind": s.number_kind,
            "check": s.national_check,
            "problems": sorted(s.problems.values_list("kind", "state")),
            "events": [a for (a,) in s.events.order_by("pk").values_list("action")],
        }
    connection.set_schema_to_public()
    state["has_problem"] = IndexEntry.objects.get(student_uuid=pupil.uuid).has_problem
    return state


def _csv(rows: list[tuple[str, str, str, str, str]]) -> SimpleUploadedFile:
    lines = ["全国学籍号,身份证件号,姓名,结果,说明"] + [",".join(r) for r in rows]
    return SimpleUploadedFile("校验结果.csv", ("\n".join(lines) + "\n").encode("utf-8"))


def _preview(client: Any, rows: list[tuple[str, str, str, str, str]]) -> tuple[str, str, str]:
    response = client.post("/bureau/verification/", {"action": "preview", "file": _csv(rows)})
    connection.set_schema_to_public()
    assert response.status_code == 200
    page = response.content.decode()
    token = re.search(r'name="token" value="([^"]+)"', page)
    digest = re.search(r'name="digest" value="([^"]+)"', page)
    return page, token.group(1) if token else "", digest.group(1) if digest else ""


def _stats(page: str) -> dict[str, int]:
    found = re.findall(r'<span class="num">(\d+)</span><span class="label">([^<]+)</span>', page)
    return {label: int(n) for n, label in found}


def test_county_approval_keeps_the_l_number(world: World) -> None:
    from common.actor import Actor
    from tenant_apps.registry.facade.writes import students_county_decide

    pupil = _pupil(world.a.schema, "注册甲", 11, audit_state="county_pending")
    students_county_decide(
        schema_name=world.a.schema,
        student_uuids=[pupil.uuid],
        approve=True,
        reason="",
        actor=Actor("liuyang", "浏阳学籍", "public"),
    )
    state = _state(world.a.schema, pupil)
    assert state["audit_state"] == "registered"
    assert (state["number"], state["kind"], state["check"]) == (pupil.national_number, "L", "")
    assert pupil.national_number.startswith("L430181")


def test_dry_run_counts_then_confirm_verifies_and_opens_problems(world: World) -> None:
    from accounts.models import AuditEntry

    passed = _pupil(world.a.schema, "通过甲", 21)
    no_id = _pupil(world.a.schema, "无证乙", 22, with_id=False)
    missing = _pupil(world.a.schema, "不存丙", 23)
    mismatch = _pupil(world.b.schema, "不符丁", 24)
    dup = _pupil(world.b.schema, "重复戊", 25)
    pending = _pupil(world.a.schema, "待审己", 26, audit_state="county_pending")
    elsewhere = _pupil(world.c.schema, "外县庚", 27, county="430182")
    rows = [
        ("", passed.id_number, passed.name, "通过", ""),
        (no_id.national_number, "", no_id.name, "通过", ""),
        (
            missing.national_number,
            missing.id_number,
            missing.name,
            "身份证号不存在",
            "公安库无此号",
        ),
        ("", mismatch.id_number, mismatch.name, "身份证号与姓名不匹配", ""),
        ("", dup.id_number, dup.name, "重复", "外省已注册"),
        ("", pending.id_number, pending.name, "通过", ""),
        ("", elsewhere.id_number, elsewhere.name, "通过", ""),
        ("", resident_id(BIRTH, 99), "无此人", "通过", ""),
        ("", resident_id(BIRTH, 98), "乱填", "待定", ""),
        ("", "", "没号", "通过", ""),
    ]
    officer = login(settings.BASE_DOMAIN, world.bureau_user)
    before = {p.name: _state(s, p) for s, p in ((world.a.schema, passed), (world.b.schema, dup))}
    page, token, digest = _preview(officer, rows)
    assert _stats(page) == {
        "文件行数": 10,
        "通过校验": 2,
        "转为问题学籍": 3,
        "不处理": 1,
        "未找到": 1,
        "其他县区（已拒绝）": 1,
        "无法读取": 2,
    }
    assert "第9行（无*人）：本辖区学校中没有找到该学生" in page
    assert "第8行（外*庚）：该生的学籍在其他县区的学校，已拒绝" in page
    assert "第10行“结果”列的“待定”不是可识别的校验结果" in page
    assert "第11行：“全国学籍号”和“身份证件号”都没有填写" in page
    assert "尚未通过教育局审核" in page
    assert passed.id_number not in page
    assert "通*甲" in page
    # the dry run writes nothing
    assert {p.name: _state(s, p) for s, p in ((world.a.schema, passed), (world.b.schema, dup))} == (
        before
    )

    done = officer.post(
        "/bureau/verification/", {"action": "confirm", "token": token, "digest": digest}
    )
    connection.set_schema_to_public()
    assert done.status_code == 302
    ok = _state(world.a.schema, passed)
    assert (ok["audit_state"], ok["number"], ok["kind"], ok["check"]) == (
        "registered",
        "G" + passed.id_number,
        "G",
        "verified",
    )
    assert ok["events"][-1] == "通过国家校验，分配正式学籍号"
    j = _state(world.a.schema, no_id)
    assert j["kind"] == "J"
    assert j["number"].startswith("J430181" + f"{BIRTH:%Y%m%d}")
    assert j["check"] == "verified"
    for schema, pupil, kind in (
        (world.a.schema, missing, "id_not_found"),
        (world.b.schema, mismatch, "id_name_mismatch"),
        (world.b.schema, dup, "national_duplicate"),
    ):
        state = _state(schema, pupil)
        # still registered (在读 counts hold), L number kept, the problem is what holds it
        assert (state["audit_state"], state["number"], state["check"]) == (
            "registered",
            pupil.national_number,
            "failed",
        )
        assert state["problems"] == [(kind, "open")]
        assert state["has_problem"] is True
    assert _state(world.a.schema, pending)["number"] == pending.national_number
    assert _state(world.c.schema, elsewhere)["check"] == ""
    entries = AuditEntry.objects.filter(object_type="national_check").order_by("object_id")
    assert [e.object_id for e in entries] == [str(world.a.id), str(world.b.id)]
    # the same file again: nothing left to do (the verified skip, the problems are open)
    again, _t, _d = _preview(officer, rows)
    assert _stats(again)["通过校验"] == 0
    assert _stats(again)["转为问题学籍"] == 0


def test_confirm_refuses_a_plan_changed_since_the_preview(world: World) -> None:
    pupil = _pupil(world.a.schema, "变化甲", 31)
    officer = login(settings.BASE_DOMAIN, world.bureau_user)
    _page, token, digest = _preview(officer, [("", pupil.id_number, pupil.name, "通过", "")])
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        Student.objects.filter(pk=pupil.pk).update(audit_state="deleted")
    connection.set_schema_to_public()
    response = officer.post(
        "/bureau/verification/",
        {"action": "confirm", "token": token, "digest": digest},
        follow=True,
    )
    connection.set_schema_to_public()
    assert "预览之后学籍数据已有变化" in response.content.decode()
    assert _state(world.a.schema, pupil)["number"] == pupil.national_number


def test_other_countys_officer_cannot_touch_our_records(world: World) -> None:
    pupil = _pupil(world.a.schema, "本县甲", 41)
    other = login(settings.BASE_DOMAIN, world.other_bureau_user)
    page, _token, _digest = _preview(other, [("", pupil.id_number, pupil.name, "通过", "")])
    assert _stats(page)["其他县区（已拒绝）"] == 1
    assert "确认导入" not in page
    assert _state(world.a.schema, pupil)["check"] == ""


@pytest.mark.parametrize("point", ["national_check_after_school", "national_check_before_commit"])
def test_an_injected_failure_leaves_every_school_as_before(world: World, point: str) -> None:
    from accounts.models import AuditEntry, User
    from shared_apps.bureau import verification
    from tenant_apps.registry.facade.move import InjectedFailure

    one = _pupil(world.a.schema, "故障甲", 51)
    two = _pupil(world.b.schema, "故障乙", 52)
    rows = [
        ("", one.id_number, one.name, "通过", ""),
        ("", two.id_number, two.name, "身份证号不存在", ""),
    ]
    data = _csv(rows).read()
    user = User.objects.get(username=world.bureau_user)
    plan = verification.preview(user=user, filename="r.csv", data=data)
    before = (_state(world.a.schema, one), _state(world.b.schema, two))
    audits = AuditEntry.objects.filter(object_type="national_check").count()
    with override_settings(TRANSFERS_FAIL_AT=point), pytest.raises(InjectedFailure):
        verification.confirm(user=user, filename="r.csv", data=data, digest=plan.digest)
    connection.set_schema_to_public()
    assert (_state(world.a.schema, one), _state(world.b.schema, two)) == before
    assert AuditEntry.objects.filter(object_type="national_check").count() == audits
    verification.confirm(user=user, filename="r.csv", data=data, digest=plan.digest)
    assert _state(world.a.schema, one)["check"] == "verified"
    assert _state(world.b.schema, two)["problems"] == [("id_not_found", "open")]


def test_old_formal_numbers_are_marked_verified_by_the_migration(world: World) -> None:
    """The data step of 0015: a record with a G or J number keeps it and is verified; an
    L record waits for the national check."""
    from importlib import import_module

    from django.apps import apps

    from tenant_apps.registry.models import Student

    migration = import_module("tenant_apps.registry.migrations.0015_national_verification")
    old = _pupil(world.a.schema, "旧号甲", 61)
    fresh = _pupil(world.a.schema, "新号乙", 62)
    with school_context(world.a.schema):
        Student.objects.filter(pk=old.pk).update(
            number_kind="G", national_number="G" + old.id_number
        )
        migration.verified_before(apps, None)
        got = dict(
            Student.objects.filter(pk__in=[old.pk, fresh.pk]).values_list("name", "national_check")
        )
        kept = Student.objects.get(pk=old.pk).national_number
    connection.set_schema_to_public()
    assert got == {"旧号甲": "verified", "新号乙": ""}
    assert kept == "G" + old.id_number


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


def _problem(schema: str, pupil: Pupil) -> int:
    from tenant_apps.registry.models import ProblemRecord

    with school_context(schema):
        pk = ProblemRecord.objects.get(student_id=pupil.pk, state="open").pk
    connection.set_schema_to_public()
    return pk


def test_change_needs_proof_and_keeps_a_registered_record_registered(world: World) -> None:
    from common.actor import Actor
    from tenant_apps.registry.models import Evidence, Student
    from tenant_apps.registry.students.services import student_register
    from tenant_apps.registry.tests.factories import valid_row

    # a complete record (the re-check re-validates it), registered with its L number
    with school_context(world.a.schema):
        s = student_register(raw=valid_row(4321), actor=Actor("registrar", "登记员", ""))
        Student.objects.filter(pk=s.pk).update(audit_state="registered")
    connection.set_schema_to_public()
    pupil = Pupil(s.pk, s.identifier, s.name, s.id_number, s.national_number)
    officer = login(settings.BASE_DOMAIN, world.bureau_user)
    _page, token, digest = _preview(
        officer, [("", pupil.id_number, pupil.name, "身份证号与姓名不匹配", "")]
    )
    officer.post("/bureau/verification/", {"action": "confirm", "token": token, "digest": digest})
    connection.set_schema_to_public()
    problem_id = _problem(world.a.schema, pupil)
    registrar = login(world.a.host, "registrar")
    refused = registrar.post(f"/registry/problems/{problem_id}/correct/", follow=True)
    connection.set_schema_to_public()
    assert "变更须上传证明材料" in refused.content.decode()
    api = registrar.post(f"/api/v1/problems/{problem_id}/correct/", {})
    connection.set_schema_to_public()
    assert api.status_code == 400
    assert _state(world.a.schema, pupil)["problems"] == [("id_name_mismatch", "open")]
    proof = SimpleUploadedFile("户口簿.png", _png())
    done = registrar.post(
        f"/registry/problems/{problem_id}/correct/",
        {"file": proof, "note": "户口簿核对无误"},
        follow=True,
    )
    connection.set_schema_to_public()
    assert "问题已解决" in done.content.decode()
    state = _state(world.a.schema, pupil)
    # resolved; a registered record stays registered and waits for the next national check
    assert state["problems"] == [("id_name_mismatch", "resolved")]
    assert (state["audit_state"], state["check"], state["has_problem"]) == (
        "registered",
        "",
        False,
    )
    with school_context(world.a.schema):
        proofs = list(Evidence.objects.filter(problem_id=problem_id).values_list("purpose"))
    connection.set_schema_to_public()
    assert proofs == [("change_proof",)]


def test_kind_labels_match_the_model() -> None:
    from tenant_apps.registry.models import ProblemRecord
    from tenant_apps.registry.verification.rows import FAILURE_KINDS, KIND_LABELS

    labels = dict(ProblemRecord.Kind.choices)
    assert {k: labels[k] for k in KIND_LABELS} == KIND_LABELS
    assert set(FAILURE_KINDS.values()) == set(KIND_LABELS)


def test_the_bureau_reads_the_same_action_codes() -> None:
    from shared_apps.bureau import verification
    from tenant_apps.registry.verification import rows

    assert (verification.PASSED, verification.VERIFY, verification.PROBLEM, verification.SKIP) == (
        rows.PASSED,
        rows.VERIFY,
        rows.PROBLEM,
        rows.SKIP,
    )
    assert set(verification.RESULTS.values()) == {rows.PASSED, *rows.FAILURE_KINDS}


def test_the_county_sees_a_schools_deleted_records_masked(world: World) -> None:
    from common.actor import Actor
    from tenant_apps.registry.models import ProblemRecord
    from tenant_apps.registry.problems.services import problem_delete

    pupil = _pupil(world.a.schema, "删除甲乙", 81, audit_state="problem")
    with school_context(world.a.schema):
        problem = ProblemRecord.objects.create(student_id=pupil.pk, kind="duplicate")
        problem_delete(
            problem_id=problem.pk,
            reason="该生已在乙校注册",
            actor=Actor("registrar", "登记员", world.a.schema),
        )
    connection.set_schema_to_public()
    officer = login(settings.BASE_DOMAIN, world.bureau_user)
    page = officer.get(f"/bureau/schools/{world.a.id}/deleted/").content.decode()
    connection.set_schema_to_public()
    assert "删**乙" in page
    assert "该生已在乙校注册" in page
    assert "删除甲乙" not in page
    assert pupil.id_number not in page
    assert pupil.id_number[:4] in page
    # another county's officer does not reach the school
    other = login(settings.BASE_DOMAIN, world.other_bureau_user)
    assert other.get(f"/bureau/schools/{world.a.id}/deleted/").status_code == 404
    connection.set_schema_to_public()


def test_a_national_duplicate_names_the_other_record_masked(world: World) -> None:
    """重复 from the national check: the problem record lists the other records that hold
    the same ID (here in another county's school), masked."""
    from accounts.models import User
    from shared_apps.bureau import verification
    from tenant_apps.registry.models import ProblemRecord, Student

    ours = _pupil(world.a.schema, "重号甲", 91)
    theirs = _pupil(world.c.schema, "重号乙", 93)
    with school_context(world.c.schema):
        Student.objects.filter(pk=theirs.pk).update(id_number=ours.id_number)
        from shared_apps.student_index.services import index_upsert
        from tenant_apps.registry.students.services import current_school, index_record

        s = Student.objects.select_related("school_class").get(pk=theirs.pk)
        index_upsert(school_id=current_school().id, records=[index_record(s)])
    connection.set_schema_to_public()
    user = User.objects.get(username=world.bureau_user)
    data = _csv([("", ours.id_number, ours.name, "重复", "")]).read()
    plan = verification.preview(user=user, filename="r.csv", data=data)
    verification.confirm(user=user, filename="r.csv", data=data, digest=plan.digest)
    with school_context(world.a.schema):
        others = ProblemRecord.objects.get(student_id=ours.pk).others
    connection.set_schema_to_public()
    assert len(others) == 1
    assert others[0]["school_name"] == world.c.name
    assert others[0]["name"] == "重*乙"
    assert ours.id_number not in str(others)
