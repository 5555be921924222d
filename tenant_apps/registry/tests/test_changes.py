"""In-school status changes (学籍异动) end to end: the preconditions shown before
submission, the school → county chain with maker ≠ checker, the status, history and
index written only on completion, rejection and withdrawal leaving the status alone,
repeated clicks, actors of the wrong school or county, and evidence validation."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass

import pytest
from django.db import connection
from PIL import Image

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db

BUREAU_RIGHTS = frozenset({"bureau.audit", "bureau.schools.view"})


@dataclass(frozen=True)
class Pupil:
    pk: int
    uuid: uuid.UUID
    name: str


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


def _today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _pupil(
    schema: str,
    name: str,
    *,
    stage: str = "primary",
    entry_year: int = 2024,
    status: str = "01",
    audit_state: str = "registered",
) -> Pupil:
    """A registered pupil with its public index entry (plain values come back)."""
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.services import current_school, index_record

    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage=stage,
            entry_year=entry_year,
            number=9,
            defaults={"class_no": SchoolClass.make_class_no(stage, entry_year, 9)},
        )
        student = Student.objects.create(
            name=name,
            sex="1",
            birth_date=dt.date(2017, 10, 1),
            school_class=klass,
            entry_year_month=f"{entry_year}09",
            status=status,
            audit_state=audit_state,
        )
        student = Student.objects.select_related("school_class").get(pk=student.pk)
        index_upsert(school_id=current_school().id, records=[index_record(student)])
        return Pupil(student.pk, student.identifier, name)


def _apply(client, pupil: Pupil, **fields):
    files = fields.pop("files", None)
    body = {"student_id": str(pupil.uuid), **fields}
    if files is not None:
        body["files"] = files
    response = client.post("/api/v1/status-changes/", body)
    connection.set_schema_to_public()
    return response


def _suspend(client, pupil: Pupil):
    today = _today()
    return _apply(
        client,
        pupil,
        kind="SUSPEND",
        reason_code="01",
        leave_from=today.isoformat(),
        leave_to=(today + dt.timedelta(days=120)).isoformat(),
        files=[_upload("诊断证明.png", _png())],
    )


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def _bureau(region: str = "430181000000", username: str = "liuyang"):
    from shared_apps.transfers.services import CaseActor

    return CaseActor(username, "public", region, BUREAU_RIGHTS)


def _state(schema: str, pupil: Pupil) -> dict[str, object]:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import StatusChange, Student

    with school_context(schema):
        student = Student.objects.get(pk=pupil.pk)
        changes = list(
            StatusChange.objects.filter(student_id=pupil.pk).values_list("state", flat=True)
        )
        events = list(student.events.values_list("action", "from_state", "to_state", "changes"))
    connection.set_schema_to_public()
    return {
        "status": student.status,
        "index": IndexEntry.objects.get(student_uuid=pupil.uuid).status,
        "changes": changes,
        "events": events,
    }


def _case(change_id: int, schema: str):
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import StatusChange

    with school_context(schema):
        case_id = StatusChange.objects.get(pk=change_id).case_id
    connection.set_schema_to_public()
    return Case.objects.get(pk=case_id)  # type: ignore[misc]


# -- the whole flow ---------------------------------------------------------------------


def test_suspension_takes_effect_only_after_school_and_county_approval(world: World) -> None:
    from shared_apps.transfers.services import case_decide

    pupil = _pupil(world.a.schema, "休学甲")
    registrar = login(world.a.host, "registrar")
    response = _suspend(registrar, pupil)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "open"
    assert body["to_status"] == "02"
    assert body["case_number"].startswith("YD")
    change_id = body["id"]
    case = _case(change_id, world.a.schema)
    # the public case holds a masked summary and the in-school chain
    assert case.kind == "SUSPEND"
    assert case.student_uuid == pupil.uuid
    assert case.summary["name"] == "休*甲"
    assert [s["owner"] for s in case.chain] == ["school", "bureau"]
    assert case.chain[1]["region"] == "430181000000"
    assert _state(world.a.schema, pupil)["status"] == "01", "nothing changes on submission"

    # the school approver passes it on (page), the county bureau approves (engine)
    approver = login(world.a.host, "approver")
    page = approver.get(f"/registry/changes/{change_id}/")
    assert "审核通过，报送教育局" in page.content.decode()
    approver.post(f"/registry/changes/{change_id}/decide/", {"decision": "approve"})
    connection.set_schema_to_public()
    case = _case(change_id, world.a.schema)
    assert case.step == 1
    assert case.state == "open"
    assert _state(world.a.schema, pupil)["status"] == "01"

    case_decide(case_id=case.pk, actor=_bureau(), approve=True)
    after = _state(world.a.schema, pupil)
    assert after["status"] == "02"
    assert after["index"] == "02", "the public index follows in the same transaction"
    assert after["changes"] == ["done"]
    done = [e for e in after["events"] if e[0] == "学籍异动生效：休学"]  # type: ignore[attr-defined]
    assert done == [("学籍异动生效：休学", "01", "02", {"status": ["01", "02"]})]
    actions = [e[0] for e in after["events"]]  # type: ignore[attr-defined]
    assert actions[0].startswith("申请学籍异动：休学（YD")
    assert "学籍异动学校审核通过：休学" in actions

    # the student's page shows who did what, before and after
    html = registrar.get(f"/registry/students/{pupil.uuid}/").content.decode()
    connection.set_schema_to_public()
    assert "学籍异动生效：休学" in html
    assert "在读 → 休学" in html
    assert "浏阳市教育局" in html  # the bureau officer is named with the bureau


def test_applicant_withdraws_from_the_change_page(world: World) -> None:
    pupil = _pupil(world.a.schema, "撤回甲")
    registrar = login(world.a.host, "registrar")
    change_id = _suspend(registrar, pupil).json()["id"]
    html = registrar.get(f"/registry/changes/{change_id}/").content.decode()
    assert "撤回申请" in html
    assert f'action="/registry/changes/{change_id}/withdraw/"' in html
    response = registrar.post(f"/registry/changes/{change_id}/withdraw/", {"reason": "家长改主意"})
    assert response.status_code == 302
    connection.set_schema_to_public()
    assert _case(change_id, world.a.schema).state == "withdrawn"
    assert _state(world.a.schema, pupil)["status"] == "01"
    html = registrar.get(f"/registry/changes/{change_id}/").content.decode()
    connection.set_schema_to_public()
    assert "确认撤回" not in html


def test_resume_after_suspension_returns_to_studying(world: World) -> None:
    from shared_apps.transfers.services import CaseActor, case_decide
    from tenant_apps.registry.changes.services import (
        ChangeInput,
        change_school_decide,
        change_submit,
    )
    from tenant_apps.registry.students.services import Actor

    pupil = _pupil(world.a.schema, "复学乙", status="02")
    registrar = Actor("registrar", "学籍员", world.a.schema)
    approver = Actor("approver", "主管", world.a.schema)
    with school_context(world.a.schema):
        change = change_submit(
            student_id=pupil.pk,
            data=ChangeInput(kind="RESUME", change_date=_today()),
            uploads=[],
            actor=registrar,
        )
        change_school_decide(
            change_id=change.pk,
            approve=True,
            reason="",
            actor=approver,
            case_actor=CaseActor("approver", world.a.schema, None, frozenset({"registry.approve"})),
        )
    connection.set_schema_to_public()
    case_decide(case_id=change.case_id, actor=_bureau(), approve=True)  # type: ignore[arg-type]
    assert _state(world.a.schema, pupil)["status"] == "01"


def test_withdrawal_is_for_senior_high_only(world: World) -> None:
    registrar = login(world.a.host, "registrar")
    junior = _pupil(world.a.schema, "初中退学", stage="junior")
    page = registrar.get(f"/registry/students/{junior.uuid}/changes/new/?kind=WITHDRAW")
    html = page.content.decode()
    assert "义务教育阶段学生不能办理退学" in html
    assert "请办理休学" in html
    assert 'name="reason_text"' not in html
    refused = _apply(
        registrar,
        junior,
        kind="WITHDRAW",
        change_date=_today().isoformat(),
        reason_code="01",
        reason_text="本人申请",
        files=[_upload("申请书.pdf", PDF)],
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "blocked"

    senior = _pupil(world.a.schema, "高中退学", stage="senior", entry_year=2025)
    ok = _apply(
        registrar,
        senior,
        kind="WITHDRAW",
        change_date=_today().isoformat(),
        reason_code="01",
        reason_text="本人申请",
        files=[_upload("申请书.pdf", PDF)],
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["to_status"] == "03"


# -- preconditions before submission ------------------------------------------------------


def test_preconditions_are_shown_before_submission_with_what_to_do(world: World) -> None:
    draft = _pupil(world.a.schema, "未注册丙", audit_state="draft")
    registrar = login(world.a.host, "registrar")
    html = registrar.get(f"/registry/students/{draft.uuid}/changes/new/?kind=SUSPEND").content
    text = html.decode()
    assert "尚未注册" in text
    assert "请先完成学籍注册" in text
    assert 'name="leave_from"' not in text, "no form while something blocks"
    # the API says the same, as data
    body = registrar.get(f"/api/v1/students/{draft.uuid}/blockers/?kind=SUSPEND").json()
    assert body["ok"] is False
    assert body["blockers"][0]["code"] == "not_registered"
    assert body["blockers"][0]["advice"]
    # a clean student gets the form
    clean = _pupil(world.a.schema, "可办理丁")
    text = registrar.get(f"/registry/students/{clean.uuid}/changes/new/?kind=SUSPEND").content  # type: ignore[assignment]
    assert 'name="leave_from"' in text.decode()  # type: ignore[attr-defined]


def test_wrong_status_problem_record_and_pending_case_block(world: World) -> None:
    from tenant_apps.registry.changes.blockers import student_blockers
    from tenant_apps.registry.models import ProblemRecord, Student

    studying = _pupil(world.a.schema, "在读戊")
    suspended = _pupil(world.a.schema, "休学己", status="02")
    problem = _pupil(world.a.schema, "问题庚")
    with school_context(world.a.schema):
        ProblemRecord.objects.create(student_id=problem.pk, kind="suspected")

        def codes(p: Pupil, kind: str) -> list[str]:
            s = Student.objects.select_related("school_class").get(pk=p.pk)
            return [b.code for b in student_blockers(s, kind, on=dt.date(2026, 12, 4))]

        assert codes(studying, "RESUME") == ["wrong_status"]
        assert codes(studying, "RETURN_FROM_ABROAD") == ["wrong_status"]
        assert codes(suspended, "SUSPEND") == ["wrong_status"]
        assert codes(suspended, "RESUME") == []
        # a student on leave is not transferred (§3.5), and is told to resume first
        s = Student.objects.select_related("school_class").get(pk=suspended.pk)
        [blocker] = student_blockers(s, "TRANSFER", on=dt.date(2026, 12, 4))
        assert "请先办理复学" in blocker.advice
        assert codes(problem, "SUSPEND") == ["problem_record"]
        with pytest.raises(ValueError, match="unknown business kind"):
            codes(studying, "NO_SUCH_KIND")
    connection.set_schema_to_public()

    registrar = login(world.a.host, "registrar")
    assert _suspend(registrar, studying).status_code == 201
    second = _apply(
        registrar,
        studying,
        kind="DEATH",
        change_date=_today().isoformat(),
        files=[_upload("证明.pdf", PDF)],
    )
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "blocked"
    assert "在办业务" in second.json()["error"]["message"]
    with school_context(world.a.schema):
        s = Student.objects.select_related("school_class").get(pk=studying.pk)
        assert [b.code for b in student_blockers(s, "TRANSFER")] == ["pending_business"]


def test_business_freeze_around_graduation(world: World, settings) -> None:
    from tenant_apps.registry.changes.blockers import student_blockers
    from tenant_apps.registry.models import Student

    graduating = _pupil(world.a.schema, "毕业辛", entry_year=2020)  # 小学六年级 in 2025/26
    lower = _pupil(world.a.schema, "低年级壬", entry_year=2023)
    with school_context(world.a.schema):
        g = Student.objects.select_related("school_class").get(pk=graduating.pk)
        low = Student.objects.select_related("school_class").get(pk=lower.pk)

        def codes(s: Student, kind: str, on: dt.date) -> list[str]:
            return [b.code for b in student_blockers(s, kind, on=on)]

        assert codes(g, "SUSPEND", dt.date(2026, 6, 30)) == []
        assert codes(g, "SUSPEND", dt.date(2026, 7, 1)) == ["freeze_graduating"]
        assert codes(g, "TRANSFER", dt.date(2026, 7, 5)) == ["freeze_graduating"]
        assert codes(g, "GRADUATE", dt.date(2026, 7, 5)) == [], "the rollover itself runs"
        assert codes(low, "SUSPEND", dt.date(2026, 7, 20)) == []
        assert codes(low, "TRANSFER", dt.date(2026, 7, 14)) == []
        assert codes(low, "TRANSFER", dt.date(2026, 7, 15)) == ["freeze_transfer"]
        assert codes(low, "TRANSFER", dt.date(2026, 8, 14)) == ["freeze_transfer"]
        assert codes(low, "TRANSFER", dt.date(2026, 8, 15)) == []
        [b] = student_blockers(low, "TRANSFER", on=dt.date(2026, 7, 20))
        assert "08月15日" in b.advice
        # the dates are settings
        settings.BUSINESS_FREEZE_TRANSFERS_FROM = "07-01"
        assert codes(low, "TRANSFER", dt.date(2026, 7, 2)) == ["freeze_transfer"]
    connection.set_schema_to_public()


# -- who may decide -----------------------------------------------------------------------


def test_maker_is_never_the_checker(world: World) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.transfers.services import CaseActor
    from tenant_apps.registry.changes.services import (
        ChangeInput,
        change_school_decide,
        change_submit,
    )
    from tenant_apps.registry.students.services import Actor

    # One person holding both rights (a registrar granted 学籍学校审核) applies, then
    # tries to approve the own application.
    pupil = _pupil(world.a.schema, "自审癸")
    both = Actor("approver", "兼任", world.a.schema)
    rights = frozenset({"registry.edit", "registry.approve"})
    with school_context(world.a.schema):
        change = change_submit(
            student_id=pupil.pk,
            data=ChangeInput(kind="MISSING", change_date=_today(), reason_text="走失"),
            uploads=[],
            actor=both,
        )
        with pytest.raises(ApplicationError) as exc:
            change_school_decide(
                change_id=change.pk,
                approve=True,
                reason="",
                actor=both,
                case_actor=CaseActor("approver", world.a.schema, None, rights),
            )
        assert exc.value.code == "maker_checker"
    connection.set_schema_to_public()
    # the engine refuses it too, so the generic case pages cannot bypass the rule
    from shared_apps.transfers.services import case_decide

    with school_context(world.a.schema), pytest.raises(ApplicationError) as exc:
        case_decide(
            case_id=change.case_id,  # type: ignore[arg-type]
            actor=CaseActor("approver", world.a.schema, None, rights),
            approve=True,
        )
    assert exc.value.code == "maker_checker"
    connection.set_schema_to_public()
    assert _case(change.pk, world.a.schema).step == 0
    # the page tells the approver so instead of offering the buttons
    page = login(world.a.host, "approver").get(f"/registry/changes/{change.pk}/")
    assert "须由另一位学籍主管领导审核" in page.content.decode()


def test_wrong_school_and_other_county_cannot_decide_and_bureau_waits_for_school(
    world: World,
) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.transfers.services import CaseActor, case_decide

    pupil = _pupil(world.a.schema, "越权子")
    registrar = login(world.a.host, "registrar")
    change_id = _suspend(registrar, pupil).json()["id"]
    case = _case(change_id, world.a.schema)
    b_approver = CaseActor("approver", world.b.schema, None, frozenset({"registry.approve"}))
    with pytest.raises(ApplicationError):
        case_decide(case_id=case.pk, actor=b_approver, approve=True)
    # the bureau cannot skip the school step
    with pytest.raises(ApplicationError):
        case_decide(case_id=case.pk, actor=_bureau(), approve=True)
    # school B's approver on B's host does not find A's change at all
    b_client = login(world.b.host, "approver")
    assert b_client.post(
        f"/api/v1/status-changes/{change_id}/decision/", {"approve": True}
    ).status_code in {403, 404}
    connection.set_schema_to_public()
    approver = login(world.a.host, "approver")
    approver.post(f"/api/v1/status-changes/{change_id}/decision/", {"approve": True})
    connection.set_schema_to_public()
    # 宁乡's bureau is not the county of school A
    with pytest.raises(ApplicationError):
        case_decide(case_id=case.pk, actor=_bureau("430182000000", "ningxiang"), approve=True)
    assert _state(world.a.schema, pupil)["status"] == "01"


def test_double_clicks_change_nothing_further(world: World) -> None:
    from shared_apps.transfers.services import case_decide

    pupil = _pupil(world.a.schema, "双击丑")
    registrar = login(world.a.host, "registrar")
    change_id = _suspend(registrar, pupil).json()["id"]
    approver = login(world.a.host, "approver")
    for _ in range(2):
        r = approver.post(f"/api/v1/status-changes/{change_id}/decision/", {"approve": True})
        connection.set_schema_to_public()
        assert r.status_code == 200, r.content
    case = _case(change_id, world.a.schema)
    assert case.step == 1
    case_decide(case_id=case.pk, actor=_bureau(), approve=True, step=1)
    case_decide(case_id=case.pk, actor=_bureau(), approve=True, step=1)
    case_decide(case_id=case.pk, actor=_bureau(), approve=True)  # a retry without the step
    after = _state(world.a.schema, pupil)
    actions = [e[0] for e in after["events"]]  # type: ignore[attr-defined]
    assert actions.count("学籍异动学校审核通过：休学") == 1
    assert actions.count("学籍异动生效：休学") == 1
    assert after["status"] == "02"


# -- rejection, withdrawal, rollback ----------------------------------------------------


def test_rejection_and_withdrawal_leave_the_status(world: World) -> None:
    from shared_apps.transfers.services import case_decide

    registrar = login(world.a.host, "registrar")
    approver = login(world.a.host, "approver")

    by_school = _pupil(world.a.schema, "退回寅")
    change_id = _suspend(registrar, by_school).json()["id"]
    no_reason = approver.post(f"/api/v1/status-changes/{change_id}/decision/", {"approve": False})
    assert no_reason.status_code == 400
    r = approver.post(
        f"/api/v1/status-changes/{change_id}/decision/", {"approve": False, "reason": "材料不全"}
    )
    connection.set_schema_to_public()
    assert r.json()["state"] == "rejected"
    state = _state(world.a.schema, by_school)
    assert state["status"] == "01"
    assert state["index"] == "01"
    assert ("学籍异动未通过：休学", "", "", {}) in state["events"]  # type: ignore[operator]

    by_bureau = _pupil(world.a.schema, "退回卯")
    change_id = _suspend(registrar, by_bureau).json()["id"]
    approver.post(f"/api/v1/status-changes/{change_id}/decision/", {"approve": True})
    connection.set_schema_to_public()
    case_decide(
        case_id=_case(change_id, world.a.schema).pk,
        actor=_bureau(),
        approve=False,
        reason="诊断证明不清晰",
    )
    state = _state(world.a.schema, by_bureau)
    assert state["status"] == "01"
    assert state["changes"] == ["rejected"]

    withdrawn = _pupil(world.a.schema, "撤回辰")
    change_id = _suspend(registrar, withdrawn).json()["id"]
    r = registrar.post(f"/registry/changes/{change_id}/withdraw/", {"reason": "家长改变主意"})
    connection.set_schema_to_public()
    assert r.status_code == 302
    state = _state(world.a.schema, withdrawn)
    assert state["status"] == "01"
    assert state["changes"] == ["withdrawn"]
    assert any(e[0] == "撤回学籍异动：休学" for e in state["events"])  # type: ignore[attr-defined]
    # once closed, the student may apply again
    assert _suspend(registrar, withdrawn).status_code == 201


def test_a_stale_change_cannot_take_effect_and_rolls_the_approval_back(world: World) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.transfers.services import case_decide
    from tenant_apps.registry.models import Student

    pupil = _pupil(world.a.schema, "过期巳")
    registrar = login(world.a.host, "registrar")
    approver = login(world.a.host, "approver")
    change_id = _suspend(registrar, pupil).json()["id"]
    approver.post(f"/api/v1/status-changes/{change_id}/decision/", {"approve": True})
    connection.set_schema_to_public()
    with school_context(world.a.schema):  # changed behind the case's back
        Student.objects.filter(pk=pupil.pk).update(status="11")
    connection.set_schema_to_public()
    with pytest.raises(ApplicationError):
        case_decide(case_id=_case(change_id, world.a.schema).pk, actor=_bureau(), approve=True)
    case = _case(change_id, world.a.schema)
    assert case.state == "open"
    assert case.step == 1
    assert _state(world.a.schema, pupil)["changes"] == ["open"]


# -- evidence ---------------------------------------------------------------------------------


def test_evidence_is_required_checked_and_stored_under_the_school(world: World) -> None:
    from django.core.files.storage import default_storage

    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import ChangeEvidence, StatusChange

    registrar = login(world.a.host, "registrar")
    pupil = _pupil(world.a.schema, "佐证午")
    base = {"kind": "DEATH", "change_date": _today().isoformat()}
    cases_before = Case.objects.count()

    missing = _apply(registrar, pupil, **base)
    assert missing.status_code == 400
    assert "须上传佐证材料" in missing.json()["error"]["fields"]["files"][0]

    big = _apply(registrar, pupil, **base, files=[_upload("死亡证明.pdf", PDF + b"0" * 2_100_000)])
    assert big.status_code == 400
    assert big.json()["error"]["message"] == "佐证材料“死亡证明.pdf”超过2MB，请压缩后重新上传。"

    fake = _apply(registrar, pupil, **base, files=[_upload("照片.jpg", b"not really a jpeg")])
    assert fake.status_code == 400
    assert "照片.jpg" in fake.json()["error"]["message"]
    assert "内容与扩展名不符" in fake.json()["error"]["message"]

    wrong_type = _apply(registrar, pupil, **base, files=[_upload("证明.docx", b"PK\x03\x04")])
    assert wrong_type.status_code == 400
    assert "只接受 JPG、PNG 图片或 PDF" in wrong_type.json()["error"]["message"]

    with school_context(world.a.schema):
        assert not StatusChange.objects.filter(student_id=pupil.pk).exists()
    connection.set_schema_to_public()
    assert Case.objects.count() == cases_before, "a refused application writes nothing"

    ok = _apply(
        registrar, pupil, **base, files=[_upload("证明.pdf", PDF), _upload("p.png", _png())]
    )
    assert ok.status_code == 201, ok.content
    detail = registrar.get(f"/api/v1/status-changes/{ok.json()['id']}/").json()
    assert [e["content_type"] for e in detail["evidence"]] == ["application/pdf", "image/png"]
    assert [s["state"] for s in detail["steps"]] == ["current", "pending"]
    with school_context(world.a.schema):
        keys = list(ChangeEvidence.objects.values_list("file_key", flat=True))
        assert all(default_storage.exists(k) for k in keys)
    connection.set_schema_to_public()
    # stored under the school's own prefix
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]
    stored = {
        o["Key"]
        for o in client.list_objects_v2(Bucket=default_storage.bucket_name)["Contents"]  # type: ignore[attr-defined]
    }
    assert {f"schools/{world.a.schema}/{k}" for k in keys} <= stored


def test_field_rules_name_the_field(world: World) -> None:
    registrar = login(world.a.host, "registrar")
    pupil = _pupil(world.a.schema, "填写未")
    today = _today()
    r = _apply(
        registrar,
        pupil,
        kind="SUSPEND",
        reason_code="77",
        leave_from=today.isoformat(),
        leave_to=(today - dt.timedelta(days=1)).isoformat(),
        files=[_upload("a.png", _png())],
    )
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert fields["reason_code"] == ["异动原因无效，请从列表中选择。"]
    assert fields["leave_to"] == ["休学截止日期须晚于开始日期。"]
    r = _apply(registrar, pupil, kind="DROPOUT", change_date=today.isoformat(), reason_code="01")
    assert r.json()["error"]["fields"]["reason_text"] == ["请填写异动说明。"]


# -- lists --------------------------------------------------------------------------------


def test_school_list_filters_and_page_submission(world: World) -> None:
    pupil = _pupil(world.a.schema, "列表申")
    registrar = login(world.a.host, "registrar")
    today = _today()
    # submitted through the page, with a file
    r = registrar.post(
        f"/registry/students/{pupil.uuid}/changes/new/",
        {
            "kind": "OTHER_LEAVE",
            "change_date": today.isoformat(),
            "reason_text": "随父母外出",
        },
    )
    connection.set_schema_to_public()
    assert r.status_code == 302, r.content.decode()[:2000]
    html = registrar.get("/registry/changes/?kind=OTHER_LEAVE&state=open").content.decode()
    assert "列表申" in html
    assert "学校审核" in html
    assert "列表申" not in registrar.get("/registry/changes/?state=done").content.decode()
    api = registrar.get("/api/v1/status-changes/?q=列表申").json()
    assert [row["kind"] for row in api["results"]] == ["OTHER_LEAVE"]
    connection.set_schema_to_public()
    # the class teacher has no access to the list
    assert login(world.a.host, "teacher").get("/registry/changes/").status_code == 403


def test_the_bureau_decides_on_its_case_page_and_opens_the_proof(
    world: World, bureau_host: str
) -> None:
    pupil = _pupil(world.a.schema, "教育局酉")
    change_id = _suspend(login(world.a.host, "registrar"), pupil).json()["id"]
    approver = login(world.a.host, "approver")
    approver.post(f"/api/v1/status-changes/{change_id}/decision/", {"approve": True})
    connection.set_schema_to_public()
    case = _case(change_id, world.a.schema)
    bureau = login(bureau_host, world.bureau_user)
    page = bureau.get(f"/bureau/cases/{case.pk}/").content.decode()
    connection.set_schema_to_public()
    assert "教**酉" in page
    assert "教育局酉" not in page, "the bureau sees the masked name only"
    assert "在读 → 休学" in page
    link = page.split('<a href="/files/')[1].split('"')[0]
    proof = bureau.get(f"/files/{link}")
    connection.set_schema_to_public()
    assert proof.status_code == 302
    assert "X-Amz-Signature" in proof["Location"]
    # another county's bureau cannot open it
    other = login(bureau_host, world.other_bureau_user)
    assert other.get(f"/bureau/cases/{case.pk}/").status_code == 404
    connection.set_schema_to_public()
    bureau.post(f"/bureau/cases/{case.pk}/decide/", {"decision": "approve", "step": "1"})
    connection.set_schema_to_public()
    after = _state(world.a.schema, pupil)
    assert after["status"] == "02"
    assert after["changes"] == ["done"]
