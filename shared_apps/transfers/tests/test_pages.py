"""Pages and API of transfers: start, decide with the password, the bureau deciding each
transfer on its own (no batch approval of transfers, domain.md §3.5), PDFs, transfers
with the outside."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.db import connection

from conftest import PASSWORD, login
from shared_apps.student_index.models import IndexEntry
from shared_apps.transfers.models import Case, CaseKind, CaseState
from shared_apps.transfers.tests.helpers import make_student
from tenants.context import school_context

if TYPE_CHECKING:
    from conftest import World


def _class_id(schema: str) -> int:
    from tenant_apps.registry.models import SchoolClass

    with school_context(schema):
        return SchoolClass.objects.get(stage="primary", entry_year=2024, number=1).pk


def _stale(client: object, schema: str) -> None:
    """The password entered at login no longer counts (the re-entry window passed)."""
    from accounts.reauth import REAUTH_SESSION_KEY

    with school_context(schema):
        session = client.session  # type: ignore[attr-defined]
        session[REAUTH_SESSION_KEY] = 0
        session.save()
    connection.set_schema_to_public()


def _reauth(client: object) -> None:
    response = client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/"})  # type: ignore[attr-defined]
    assert response.status_code == 302
    connection.set_schema_to_public()


def test_transfer_through_the_pages(public: None, world: World) -> None:
    made = make_student(
        world.b.schema, world.b.id, name="转学测试页面", id_number="430181201803011111"
    )
    registrar = login(world.a.host, "registrar")
    # Look-up: masked only.
    page = registrar.post(
        "/transfers/new/",
        {"action": "lookup", "name": "转学测试页面", "id_number": "430181201803011111"},
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert "转****面" in body
    assert "4301**********1111" in body
    assert "测试乙小学" in body
    assert "转学测试页面" not in body.replace('value="转学测试页面"', "")
    assert "430181201803011111" not in body.replace('value="430181201803011111"', "")
    # Start.
    response = registrar.post(
        "/transfers/new/",
        {
            "action": "start",
            "sending_school_id": world.b.id,
            "student_uuid": str(made.identifier),
            "target_class": _class_id(world.a.schema),
            "reason": "随父母迁居",
        },
    )
    connection.set_schema_to_public()
    case = Case.objects.get(student_uuid=made.identifier)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/transfers/cases/{case.pk}/")
    # The sending school's approver sees it waiting, with owner and deadline.
    approver = login(world.b.host, "approver")
    listing = approver.get("/transfers/").content.decode()
    assert case.number in listing
    assert "待本校办理" in listing
    assert f"{case.due_on:%Y-%m-%d}" in listing
    detail = approver.get(f"/transfers/cases/{case.pk}/").content.decode()
    assert "<strong>测试乙小学</strong> · 转出学校审核" in detail
    assert "审核通过" in detail
    # Approving asks for the password first; the POST is kept and runs after it.
    _stale(approver, world.b.schema)
    asked = approver.post(f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": 0})
    assert asked.status_code == 200
    assert "reauth-password" in asked.content.decode()
    connection.set_schema_to_public()
    assert Case.objects.get(pk=case.pk).step == 0
    done = approver.post(
        f"/transfers/cases/{case.pk}/decide/",
        {"decision": "approve", "step": 0, "reauth-password": PASSWORD},
    )
    assert done.status_code == 302
    connection.set_schema_to_public()
    assert Case.objects.get(pk=case.pk).step == 1
    # A double click (the same step again) changes nothing.
    approver.post(f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": 0})
    connection.set_schema_to_public()
    assert Case.objects.get(pk=case.pk).steps.filter(action="approve").count() == 1
    # The bureau's queue lists it with no checkbox: a transfer is opened and decided alone.
    bureau = login("localhost", "liuyang")
    queue = bureau.get("/bureau/cases/").content.decode()
    assert case.number in queue
    assert f'name="case_ids" value="{case.pk}"' not in queue
    assert "逐件审核" in queue
    assert f'href="/bureau/cases/{case.pk}/"' in queue
    _reauth(bureau)
    # A batch naming it anyway (a forged form) decides nothing and says why.
    batch = bureau.post("/bureau/cases/batch/", {"decision": "approve", "case_ids": [str(case.pk)]})
    assert batch.status_code == 302
    connection.set_schema_to_public()
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN
    refused = bureau.get(batch["Location"]).content.decode()
    connection.set_schema_to_public()
    assert "不设批量审核" in refused
    decided = bureau.post(
        f"/bureau/cases/{case.pk}/decide/",
        {"decision": "approve", "step": Case.objects.get(pk=case.pk).step},
    )
    assert decided.status_code == 302
    connection.set_schema_to_public()
    assert Case.objects.get(pk=case.pk).state == CaseState.DONE
    assert IndexEntry.objects.get(student_uuid=made.identifier).school_id == world.a.id
    results = bureau.get("/bureau/cases/?waiting=0").content.decode()
    connection.set_schema_to_public()
    assert case.number not in results  # done: no longer in the open queue
    # Who applied and who decided, as people read it (not username@schema).
    page = bureau.get(f"/bureau/cases/{case.pk}/").content.decode()  # type: ignore[assignment]
    connection.set_schema_to_public()
    assert f"{world.a.name} · {world.a.name}registrar（registrar）" in page
    assert f"{world.b.name} · {world.b.name}approver（approver）" in page
    assert "浏阳市教育局 · 浏阳学籍（liuyang）" in page
    assert f"@{world.a.schema}" not in page
    # Letters print on both hosts.
    for client, url in (
        (registrar, f"/transfers/cases/{case.pk}/letter/"),
        (bureau, f"/bureau/cases/{case.pk}/letter/"),
    ):
        pdf = client.get(url)
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
    connection.set_schema_to_public()


def test_other_parties_cannot_see_or_decide(public: None, world: World) -> None:
    made = make_student(
        world.b.schema, world.b.id, name="转学测试隔离", id_number="430181201803012222"
    )
    registrar = login(world.a.host, "registrar")
    registrar.post(
        "/transfers/new/",
        {
            "action": "start",
            "sending_school_id": world.b.id,
            "student_uuid": str(made.identifier),
            "target_class": _class_id(world.a.schema),
            "reason": "x",
        },
    )
    connection.set_schema_to_public()
    case = Case.objects.get(student_uuid=made.identifier)
    assert login(world.c.host, "approver").get(f"/transfers/cases/{case.pk}/").status_code == 404
    other_bureau = login("localhost", "ningxiang")
    assert other_bureau.get(f"/bureau/cases/{case.pk}/").status_code == 404
    assert case.number not in other_bureau.get("/bureau/cases/?waiting=0").content.decode()
    # The receiving school's approver is not the owner of the sending school's step.
    approver_a = login(world.a.host, "approver")
    _reauth(approver_a)
    approver_a.post(f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": 0})
    connection.set_schema_to_public()
    assert Case.objects.get(pk=case.pk).step == 0


def test_api_decision_needs_reauth_and_the_bureau_decides_one_case_at_a_time(
    public: None, world: World
) -> None:
    make_student(world.b.schema, world.b.id, name="转学测试接口", id_number="430181201803013333")
    registrar = login(world.a.host, "registrar")
    found = registrar.post(
        "/api/v1/transfers/lookup/",
        {"name": "转学测试接口", "id_number": "430181201803013333"},
        content_type="application/json",
    ).json()["results"]
    assert [f["name"] for f in found] == ["转****口"]
    started = registrar.post(
        "/api/v1/transfers/",
        {
            "sending_school_id": found[0]["school_id"],
            "student_uuid": found[0]["student_uuid"],
            "target_class": _class_id(world.a.schema),
            "reason": "就近入学",
        },
        content_type="application/json",
    )
    assert started.status_code == 201, started.content
    case_id = started.json()["id"]
    approver = login(world.b.host, "approver")
    _stale(approver, world.b.schema)
    refused = approver.post(
        f"/api/v1/cases/{case_id}/decision/", {"approve": True}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "reauth_required"
    approver.post("/api/v1/auth/reauth/", {"password": PASSWORD}, content_type="application/json")
    ok = approver.post(
        f"/api/v1/cases/{case_id}/decision/",
        {"approve": True, "step": 0},
        content_type="application/json",
    )
    assert ok.status_code == 200
    assert ok.json()["step"] == 1
    bureau = login("localhost", "liuyang")
    listed = bureau.get("/api/v1/bureau/cases/?waiting=1&kind=TRANSFER").json()
    assert case_id in [c["id"] for c in listed["results"]]
    _stale(bureau, "public")
    # The batch decision API decides no transfer: named by id it is refused with the
    # reason, and a filter for transfers matches nothing.
    named = bureau.post(
        "/api/v1/bureau/cases/decision/",
        {"case_ids": [case_id], "approve": True},
        content_type="application/json",
    )
    assert named.status_code == 200
    assert named.json()["results"][0]["ok"] is False
    assert "不设批量审核" in named.json()["results"][0]["message"]
    by_filter = bureau.post(
        "/api/v1/bureau/cases/decision/",
        {"filter": {"kind": "TRANSFER"}, "approve": True},
        content_type="application/json",
    )
    assert by_filter.status_code == 400
    connection.set_schema_to_public()
    assert Case.objects.get(pk=case_id).state == CaseState.OPEN
    # One case at a time: without the password the approval is refused, with it done.
    step = bureau.get(f"/api/v1/bureau/cases/{case_id}/").json()["step"]
    refused = bureau.post(
        f"/api/v1/bureau/cases/{case_id}/decision/",
        {"approve": True, "step": step},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "reauth_required"
    bureau.post("/api/v1/auth/reauth/", {"password": PASSWORD}, content_type="application/json")
    done = bureau.post(
        f"/api/v1/bureau/cases/{case_id}/decision/",
        {"approve": True, "step": step},
        content_type="application/json",
    )
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "done"
    detail = registrar.get(f"/api/v1/cases/{case_id}/").json()
    assert detail["state"] == "done"
    assert detail["lines"][0] == ["转出学校", "测试乙小学"]
    connection.set_schema_to_public()


def _png_of(pdf: bytes, tmp: Path) -> Path:
    src = tmp / "doc.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(src), str(tmp / "p")], check=True
    )
    return next(tmp.glob("p*.png"))


def test_out_transfer_certificate_and_status(public: None, world: World) -> None:
    made = make_student(
        world.a.schema, world.a.id, name="转学测试省外", id_number="430181201803014444"
    )
    registrar = login(world.a.host, "registrar")
    response = registrar.post(
        f"/transfers/out/{made.identifier}/",
        {
            "destination": "广州市天河区某小学",
            "destination_region": "广东省广州市",
            "reason": "随父母迁居",
        },
    )
    connection.set_schema_to_public()
    case = Case.objects.get(student_uuid=made.identifier)
    assert response.status_code == 302
    assert case.kind == CaseKind.TRANSFER_OUT_EXTERNAL
    approver = login(world.a.host, "approver")
    _reauth(approver)
    approver.post(f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": 0})
    bureau = login("localhost", "liuyang")
    _reauth(bureau)
    bureau.post(f"/bureau/cases/{case.pk}/decide/", {"decision": "approve", "step": 1})
    connection.set_schema_to_public()
    case.refresh_from_db()
    assert case.state == CaseState.DONE
    assert case.payload["certificate_no"].startswith(f"{world.a.code}-")
    assert IndexEntry.objects.get(student_uuid=made.identifier).status == "10"
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        assert Student.objects.get(identifier=made.identifier).status == "10"
    pdf = registrar.get(f"/transfers/cases/{case.pk}/certificate/")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
    # The CJK font travels inside the file (a TrueType subset), not by name only.
    assert b"/FontFile2" in pdf.content
    assert b"NotoSansSC" in pdf.content
    # The other school may not print it.
    assert (
        login(world.b.host, "registrar").get(f"/transfers/cases/{case.pk}/certificate/").status_code
        == 404
    )
    if shutil.which("pdftoppm"):
        with tempfile.TemporaryDirectory() as tmp:
            png = _png_of(pdf.content, Path(tmp))
            from PIL import Image

            with Image.open(png) as image:
                dark = sum(1 for p in image.convert("L").getdata() if p < 128)  # type: ignore[attr-defined,misc]
            assert dark > 2000  # text was drawn (Chinese glyphs, not blank boxes only)
    connection.set_schema_to_public()


def _draft(world: World, name: str, id_number: str) -> int:
    from tenant_apps.registry.models import Student

    made = make_student(
        world.a.schema, world.a.id, name=name, id_number=id_number, with_marks=False
    )
    with school_context(world.a.schema):
        student = Student.objects.get(identifier=made.identifier)
        Student.objects.filter(pk=student.pk).update(audit_state="draft", national_number="L1")
        return student.pk


def test_in_transfer_from_outside_with_evidence(public: None, world: World) -> None:
    from PIL import Image

    pk = _draft(world, "转学测试省外入", "430181201803015555")
    registrar = login(world.a.host, "registrar")
    fake = io.BytesIO(b"not really a pdf")
    fake.name = "证明.pdf"
    refused = registrar.post(
        "/transfers/in/",
        {
            "student_id": pk,
            "origin_school": "某省某小学",
            "origin_region": "广东省",
            "reason": "迁居",
            "file": fake,
        },
    )
    assert refused.status_code == 200
    connection.set_schema_to_public()
    assert not Case.objects.filter(
        kind=CaseKind.TRANSFER_IN_EXTERNAL, school_id=world.a.id, state="open"
    ).exists()
    png = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(png, format="PNG")
    png.seek(0)
    png.name = "转学联系函.png"
    response = registrar.post(
        "/transfers/in/",
        {
            "student_id": pk,
            "origin_school": "某省某小学",
            "origin_region": "广东省",
            "reason": "迁居",
            "file": png,
        },
    )
    assert response.status_code == 302
    connection.set_schema_to_public()
    case = Case.objects.get(kind=CaseKind.TRANSFER_IN_EXTERNAL, school_id=world.a.id, state="open")
    detail = registrar.get(f"/transfers/cases/{case.pk}/").content.decode()
    assert "转学联系函.png" in detail
    approver = login(world.a.host, "approver")
    _reauth(approver)
    approver.post(f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": 0})
    bureau = login("localhost", "liuyang")
    _reauth(bureau)
    bureau.post(f"/bureau/cases/{case.pk}/decide/", {"decision": "approve", "step": 1})
    connection.set_schema_to_public()
    case.refresh_from_db()
    assert case.state == CaseState.DONE
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        student = Student.objects.get(pk=pk)
        assert (student.audit_state, student.national_number) == (
            "registered",
            "G430181201803015555",
        )
        assert student.events.filter(action="省外转入审核通过").count() == 1
    connection.set_schema_to_public()


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("big.pdf", b"%PDF-" + b"0" * (2 * 1024 * 1024 + 10), "2MB"),
        ("fake.png", b"GIF89a-not-a-png", "与扩展名不符"),
        ("notes.txt", b"hello", "只接受 JPG、PNG 图片或 PDF"),
    ],
)
def test_in_transfer_evidence_rules(
    public: None, world: World, filename: str, data: bytes, message: str
) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.transfers.tests.helpers import actor
    from shared_apps.transfers.transfer import Upload, external_in_register

    pk = _draft(world, "转学测试证明", "430181201803016666")
    with school_context(world.a.schema), pytest.raises(ApplicationError, match=message):
        external_in_register(
            actor=actor("registrar", world.a.schema),
            student_id=pk,
            origin_school="x",
            origin_region="y",
            reason="z",
            evidence=Upload(filename, data),
        )
