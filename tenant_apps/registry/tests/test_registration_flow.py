"""Registration end to end through the API: single entry with all errors at once,
查重 across schools (exact and homophone), two-level audit with maker ≠ checker,
national numbers, problem records with evidence, and the history of every step."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from PIL import Image

from conftest import World, login
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _post(client, path: str, body: dict):
    response = client.post(path, body, content_type="application/json")
    connection.set_schema_to_public()
    return response


def _student(world_schema: str, name: str):
    from tenant_apps.registry.models import Student

    with school_context(world_schema):
        return Student.objects.select_related("school_class").get(name=name)


def test_single_entry_registers_a_draft_with_family_index_and_history(world: World) -> None:
    from shared_apps.student_index.models import IndexEntry

    client = login(world.a.host, "registrar")
    row = valid_row(seq=11)
    response = _post(client, "/api/v1/students/", row)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["audit_state"] == "draft"
    assert body["national_number"].startswith("L430181")
    assert len(body["national_number"]) == 19
    assert body["id_number"] != row["id_number"]
    assert body["id_number"].endswith(row["id_number"][-4:])
    student = _student(world.a.schema, row["name"])
    with school_context(world.a.schema):
        assert student.family.count() == 2
        assert list(student.events.values_list("action", flat=True)) == ["新增"]
        assert student.ethnicity == "01"
        assert student.sex == "2"  # odd seq: a girl, and her ID number's parity agrees
    connection.set_schema_to_public()
    entry = IndexEntry.objects.get(student_uuid=student.identifier)
    assert entry.school_id == world.a.id
    assert entry.audit_state == "draft"
    assert row["id_number"] not in str(entry.__dict__), "the index holds no readable ID"


def test_bad_entry_reports_every_error_at_once_and_writes_nothing(world: World) -> None:
    from tenant_apps.registry.models import Student

    client = login(world.a.host, "registrar")
    row = valid_row(
        seq=12,
        id_number=valid_row(seq=12)["id_number"][:-1] + "0",
        ethnicity="汉",
        phone="12345",
        postcode="4103",
    )
    response = _post(client, "/api/v1/students/", row)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"id_number", "ethnicity", "phone", "postcode"} <= set(fields)
    with school_context(world.a.schema):
        assert not Student.objects.filter(name=row["name"]).exists()


def test_same_id_in_another_school_blocks_registration(world: World) -> None:
    row = valid_row(seq=13)
    assert _post(login(world.b.host, "registrar"), "/api/v1/students/", row).status_code == 201
    response = _post(login(world.a.host, "registrar"), "/api/v1/students/", row)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "duplicate"
    assert world.b.name in error["message"]
    masked = row["id_number"][:4] + "**********" + row["id_number"][-4:]
    assert masked in error["message"]
    assert row["id_number"] not in error["message"]
    assert str(row["name"]) not in error["message"]


def test_homophone_with_same_birth_date_is_sent_to_review(world: World) -> None:
    from tenant_apps.registry.models import ProblemRecord

    first = valid_row(seq=14, name="张三丰")
    assert _post(login(world.b.host, "registrar"), "/api/v1/students/", first).status_code == 201
    # 章三丰: same pinyin and birth date, registered without a resident ID number
    second = valid_row(seq=14 + 365 * 2, name="章三丰", birth_date=first["birth_date"])
    second.update(id_type="其他", id_number="", sex="男")
    response = _post(login(world.a.host, "registrar"), "/api/v1/students/", second)
    assert response.status_code == 201, response.content
    assert response.json()["audit_state"] == "problem"
    with school_context(world.a.schema):
        problem = ProblemRecord.objects.get(student__name="章三丰")
        assert problem.kind == "suspected"
        assert problem.others[0]["school_name"] == world.b.name
        assert problem.others[0]["name"] == "张*丰"
        assert problem.others[0]["rule"] == "pinyin_birth"


def test_homophone_with_another_valid_id_number_is_not_suspected(world: World) -> None:
    """The twin guard: two different valid ID numbers are two documents (the check
    character refuses a one-digit typo), so the pair is not sent to review."""
    from stdnum.cn import ric

    first = valid_row(seq=16, name="张三丰")
    assert _post(login(world.b.host, "registrar"), "/api/v1/students/", first).status_code == 201
    second = valid_row(seq=16 + 365 * 2, name="章三丰", birth_date=first["birth_date"])
    number = first["id_number"][:14] + "999"
    second["id_number"] = number + ric.calc_check_digit(number + "0")
    second["sex"] = "男"
    response = _post(login(world.a.host, "registrar"), "/api/v1/students/", second)
    assert response.status_code == 201, response.content
    assert response.json()["audit_state"] == "draft"


def _register(world: World, seq: int, **over: object) -> str:
    response = _post(
        login(world.a.host, "registrar"), "/api/v1/students/", valid_row(seq=seq, **over)
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def test_two_level_audit_assigns_the_formal_number(world: World, bureau_host: str) -> None:
    sid = _register(world, 15)
    registrar, approver = login(world.a.host, "registrar"), login(world.a.host, "approver")
    assert _post(registrar, "/api/v1/students/submit/", {"ids": [sid]}).json() == {"submitted": 1}
    # the registrar cannot approve (no right) and a second submit is refused (state)
    assert (
        _post(
            registrar, "/api/v1/students/school-decision/", {"ids": [sid], "approve": True}
        ).status_code
        == 403
    )
    assert _post(registrar, "/api/v1/students/submit/", {"ids": [sid]}).status_code == 400
    decided = _post(approver, "/api/v1/students/school-decision/", {"ids": [sid], "approve": True})
    assert decided.json() == {"decided": 1}
    bureau = login(bureau_host, world.bureau_user)
    queue = bureau.get("/api/v1/audit/students/").json()["results"]
    mine = [q for q in queue if q["student_uuid"] == sid]
    assert len(mine) == 1
    assert mine[0]["school_name"] == world.a.name
    assert "*" in mine[0]["name"]
    # another county's bureau sees nothing and cannot decide
    other = login(bureau_host, world.other_bureau_user)
    assert all(
        q["student_uuid"] != sid for q in other.get("/api/v1/audit/students/").json()["results"]
    )
    refused = _post(
        other,
        "/api/v1/audit/students/decision/",
        {"items": [{"school_id": world.a.id, "student_uuid": sid}], "approve": True},
    )
    assert refused.status_code == 400
    ok = _post(
        bureau,
        "/api/v1/audit/students/decision/",
        {"items": [{"school_id": world.a.id, "student_uuid": sid}], "approve": True},
    )
    assert ok.json() == {"decided": 1}
    detail = registrar.get(f"/api/v1/students/{sid}/").json()
    connection.set_schema_to_public()
    assert detail["audit_state"] == "registered"
    # domain §3.2 step 8: registered with the L number; the G number comes from the
    # national check (test_national_verification)
    assert detail["national_number"].startswith("L430181")
    assert [h["action"] for h in detail["history"]] == [
        "新增",
        "提交学校审核",
        "学校审核通过",
        "教育局审核通过",
    ]
    assert "浏阳市教育局" in detail["history"][3]["actor"]


def test_maker_cannot_check_own_submission(world: World, db: None) -> None:
    from accounts.models import User
    from accounts.services import user_create

    with school_context(world.a.schema):
        # An approver who may also maintain records (a function right on top of the role).
        user_create(username="both", full_name="兼任", roles=["school_approver"])
        u = User.objects.get(username="both")
        u.extra_rights = ["registry.edit"]
        u.set_password("Test-Passw0rd-xyz")
        u.must_change_password = False
        u.save()
    sid = _register(world, 16)
    both = login(world.a.host, "both")
    assert _post(both, "/api/v1/students/submit/", {"ids": [sid]}).status_code == 200
    refused = _post(both, "/api/v1/students/school-decision/", {"ids": [sid], "approve": True})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "maker_checker"
    # a return needs a reason; with one it goes back to draft
    approver = login(world.a.host, "approver")
    assert (
        _post(
            approver, "/api/v1/students/school-decision/", {"ids": [sid], "approve": False}
        ).status_code
        == 400
    )
    back = _post(
        approver,
        "/api/v1/students/school-decision/",
        {"ids": [sid], "approve": False, "reason": "家庭住址不完整"},
    )
    assert back.status_code == 200
    detail = approver.get(f"/api/v1/students/{sid}/").json()
    assert detail["audit_state"] == "draft"
    assert detail["history"][-1]["reason"] == "家庭住址不完整"


def test_student_without_id_gets_a_j_number(world: World, bureau_host: str) -> None:
    """Registered with its L number; the national check's import gives the J number."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from stdnum.cn import ric

    row = valid_row(seq=17, id_type="其他", id_number="")
    sid = _register(world, 17, id_type="其他", id_number="")
    _post(login(world.a.host, "registrar"), "/api/v1/students/submit/", {"ids": [sid]})
    _post(
        login(world.a.host, "approver"),
        "/api/v1/students/school-decision/",
        {"ids": [sid], "approve": True},
    )
    _post(
        login(bureau_host, world.bureau_user),
        "/api/v1/audit/students/decision/",
        {"items": [{"school_id": world.a.id, "student_uuid": sid}], "approve": True},
    )
    registrar = login(world.a.host, "registrar")
    temporary = registrar.get(f"/api/v1/students/{sid}/").json()["national_number"]
    assert temporary.startswith("L430181" + str(row["birth_date"]))
    officer = login(bureau_host, world.bureau_user)
    result = f"全国学籍号,身份证件号,姓名,结果\n{temporary},,{row['name']},通过\n".encode()
    page = officer.post(
        "/bureau/verification/",
        {"action": "preview", "file": SimpleUploadedFile("r.csv", result)},
    ).content.decode()
    token = page.split('name="token" value="')[1].split('"')[0]
    digest = page.split('name="digest" value="')[1].split('"')[0]
    officer.post("/bureau/verification/", {"action": "confirm", "token": token, "digest": digest})
    connection.set_schema_to_public()
    number = registrar.get(f"/api/v1/students/{sid}/").json()["national_number"]
    connection.set_schema_to_public()
    assert number.startswith("J430181" + str(row["birth_date"]))
    assert len(number) == 19
    assert ric.is_valid(number[1:])


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _make_problem(world: World) -> int:
    from tenant_apps.registry.models import ProblemRecord

    first = valid_row(seq=18, name="李小龙")
    _post(login(world.b.host, "registrar"), "/api/v1/students/", first)
    # the same name, sex and birth date, registered without a resident ID number (with
    # another valid one the twin guard would keep the pair out of review)
    second = valid_row(seq=19, name="李小龙", birth_date=first["birth_date"], sex=first["sex"])
    second.update(id_type="其他", id_number="")
    assert _post(login(world.a.host, "registrar"), "/api/v1/students/", second).status_code == 201
    with school_context(world.a.schema):
        return ProblemRecord.objects.get(student__name="李小龙").pk


def test_problem_evidence_goes_to_the_bureau_and_back_into_the_audit(
    world: World, bureau_host: str
) -> None:
    problem_id = _make_problem(world)
    registrar = login(world.a.host, "registrar")
    fake_upload = io.BytesIO(b"MZ\x90\x00 executable")
    fake_upload.name = "hukou.pdf"
    refused = registrar.post(f"/api/v1/problems/{problem_id}/evidence/", {"file": fake_upload})
    connection.set_schema_to_public()
    assert refused.status_code == 400
    assert "扩展名不符" in refused.json()["error"]["message"]
    upload = io.BytesIO(_png())
    upload.name = "户口簿.png"
    ok = registrar.post(
        f"/api/v1/problems/{problem_id}/evidence/", {"file": upload, "note": "户口簿首页"}
    )
    connection.set_schema_to_public()
    assert ok.status_code == 201, ok.content
    bureau = login(bureau_host, world.bureau_user)
    queue = bureau.get("/api/v1/audit/evidence/").json()["results"]
    assert len(queue) == 1
    assert queue[0]["school_name"] == world.a.name
    assert queue[0]["name"] == "李*龙"
    assert (
        login(bureau_host, world.other_bureau_user).get("/api/v1/audit/evidence/").json()["results"]
        == []
    )
    review_id = queue[0]["review_id"]
    assert (
        _post(bureau, f"/api/v1/audit/evidence/{review_id}/decision/", {"accept": True}).status_code
        == 204
    )
    student = _student(world.a.schema, "李小龙")
    assert student.audit_state == "draft"
    with school_context(world.a.schema):
        assert student.problems.get().state == "resolved"


def test_problem_delete_needs_a_reason_and_frees_the_index(world: World) -> None:
    from shared_apps.student_index.models import IndexEntry

    problem_id = _make_problem(world)
    registrar = login(world.a.host, "registrar")
    assert (
        _post(registrar, f"/api/v1/problems/{problem_id}/delete/", {"reason": ""}).status_code
        == 400
    )
    assert (
        _post(
            registrar, f"/api/v1/problems/{problem_id}/delete/", {"reason": "该生实际在乙校就读"}
        ).status_code
        == 204
    )
    student = _student(world.a.schema, "李小龙")
    assert student.audit_state == "deleted"
    assert student.deleted_reason == "该生实际在乙校就读"
    assert not IndexEntry.objects.filter(student_uuid=student.identifier).exists()
    listed = registrar.get("/api/v1/students/", {"q": "李小龙"}).json()
    assert listed["count"] == 0
    deleted = registrar.get("/api/v1/students/", {"q": "李小龙", "audit_state": "deleted"}).json()
    assert deleted["count"] == 1


def test_search_by_initials_id_and_national_number(world: World) -> None:
    row = valid_row(seq=20, name="欧阳娜娜")
    sid = _register(world, 20, name="欧阳娜娜")
    client = login(world.a.host, "registrar")
    national = client.get(f"/api/v1/students/{sid}/").json()["national_number"]
    for term in ("欧阳", "oynn", row["id_number"], str(row["id_number"]).lower(), national):
        found = client.get("/api/v1/students/", {"q": term}).json()
        assert [s["id"] for s in found["results"]] == [sid], term
    export = client.get("/api/v1/students/export/", {"q": "欧阳"})
    connection.set_schema_to_public()
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "姓名"
    assert rows[1][0] == "欧阳娜娜"
    assert "*" in str(rows[1])


def test_nightly_recheck_flags_duplicates_that_slipped_in(world: World) -> None:
    from shared_apps.student_index.selectors import duplicate_flags
    from tenant_apps.registry.models import ProblemRecord
    from tenant_apps.registry.problems.services import problems_flag

    sid_a = _register(world, 21)
    # the same person lands in school B behind the registry's back (e.g. restored data)
    from shared_apps.student_index.models import IndexEntry

    entry = IndexEntry.objects.get(student_uuid=sid_a)
    IndexEntry.objects.create(
        school_id=world.b.id,
        student_uuid="00000000-0000-0000-0000-000000000021",
        id_hash=entry.id_hash,
        name_hash=entry.name_hash,
        pinyin_hash=entry.pinyin_hash,
        stage="primary",
        entry_year=2024,
        sex=entry.sex,
        ethnicity="01",
        status="01",
        audit_state="draft",
    )
    flags = [
        f
        for f in duplicate_flags(school_ids=[world.a.id, world.b.id])
        if str(f.student_uuid) == sid_a
    ]
    assert len(flags) == 1
    assert flags[0].kind == "duplicate"
    with school_context(world.a.schema):
        problems_flag(
            items=[
                {
                    "student_uuid": sid_a,
                    "kind": "duplicate",
                    "others": [[world.b.id, "00000000-0000-0000-0000-000000000021"]],
                }
            ]
        )
        assert (
            ProblemRecord.objects.filter(student__identifier=sid_a, kind="duplicate").count() == 1
        )
    connection.set_schema_to_public()
    assert _student(world.a.schema, valid_row(seq=21)["name"]).audit_state == "problem"
