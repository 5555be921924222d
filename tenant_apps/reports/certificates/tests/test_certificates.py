"""证书管理 (issue 15 point 5): numbering that never reuses a number (also under two
issues at once), issue/reprint/void audited and in the pupil's history, the PDF with the
pupil's name, number and a QR code of the verify URL, and the public verify page that
says only genuine/已作废/未找到 with item 5's fields, rate-limited, per school."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from common.actor import Actor
from conftest import World, login
from tenant_apps.registry.tests.test_rollover import pupil
from tenants.context import school_context

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")


def _identifier(pk: int) -> str:
    from tenant_apps.registry.models import Student

    return str(Student.objects.get(pk=pk).identifier)


def test_numbers_follow_the_scheme_and_are_never_reused(world: World) -> None:
    from tenant_apps.reports.certificates import services

    with school_context(world.a.schema):
        ident = _identifier(pupil(1))
        year = timezone.localdate().year

        def issue() -> str:
            return services.certificate_issue(
                kind="enrolment", student_identifier=ident, actor=ACTOR
            ).number

        # the default scheme: 学校标识码 + year + 4 digits
        assert [issue(), issue()] == [f"{world.a.code}{year}0001", f"{world.a.code}{year}0002"]
        services.scheme_update(kind="enrolment", prefix="XJ", year=2030, width=3, actor=ACTOR)
        assert issue() == "XJ2030001"
        # back to the first scheme: its counter goes on, 0001 and 0002 are never given again
        services.scheme_update(
            kind="enrolment", prefix=world.a.code, year=year, width=4, actor=ACTOR
        )
        assert issue() == f"{world.a.code}{year}0003"


def test_one_valid_diploma_and_batch_issue_of_a_class(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.models import Student
    from tenant_apps.reports.certificates import services

    with school_context(world.a.schema):
        a, b, c = pupil(1), pupil(2), pupil(3)
        Student.objects.filter(pk__in=[a, b]).update(status="07")
        Student.objects.filter(pk=c).update(status="08")  # 结业: no 毕业证书
        first = services.certificate_issue(
            kind="diploma", student_identifier=_identifier(a), actor=ACTOR
        )
        with pytest.raises(ApplicationError) as refused:
            services.certificate_issue(
                kind="diploma", student_identifier=_identifier(a), actor=ACTOR
            )
        assert first.number in refused.value.message
        with pytest.raises(ApplicationError):
            services.certificate_issue(
                kind="diploma", student_identifier=_identifier(c), actor=ACTOR
            )
        class_id = Student.objects.get(pk=a).school_class_id
        issued, passed = services.certificate_issue_class(class_id=class_id, actor=ACTOR)
        assert [x.student_identifier for x in issued] == [Student.objects.get(pk=b).identifier]
        assert passed == 1  # a holds one already
        # void, then a new one (a new number) may be issued
        services.certificate_void(certificate_id=first.pk, reason="信息有误", actor=ACTOR)
        again = services.certificate_issue(
            kind="diploma", student_identifier=_identifier(a), actor=ACTOR
        )
        assert again.number != first.number
        with pytest.raises(ApplicationError):
            services.certificate_issue(
                kind="enrolment", student_identifier=_identifier(a), actor=ACTOR
            )


def test_issue_reprint_and_void_are_audited_and_in_the_history(world: World) -> None:
    from accounts.models import AuditEntry
    from tenant_apps.registry.models import StudentEvent
    from tenant_apps.reports.certificates import services

    with school_context(world.a.schema):
        pk = pupil(1)
        cert = services.certificate_issue(
            kind="enrolment", student_identifier=_identifier(pk), purpose="转学", actor=ACTOR
        )
        services.certificate_reprint(certificate_id=cert.pk, actor=ACTOR)
        services.certificate_reprint(certificate_id=cert.pk, actor=ACTOR)
        services.certificate_void(certificate_id=cert.pk, reason="遗失", actor=ACTOR)
        entries = list(
            AuditEntry.objects.filter(object_type="certificate", object_id=cert.number)
            .order_by("id")
            .values_list("action", "username")
        )
        assert entries == [
            ("certificate.issue", "registrar"),
            ("certificate.reprint", "registrar"),
            ("certificate.reprint", "registrar"),
            ("certificate.void", "registrar"),
        ]
        cert.refresh_from_db()
        assert (cert.state, cert.reprint_count, cert.void_reason) == ("void", 2, "遗失")
        history = list(
            StudentEvent.objects.filter(student_id=pk, action__contains="学籍证明")
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert history == ["开具学籍证明", "作废学籍证明"]


def test_pdf_has_the_name_number_and_a_qr_code_of_the_verify_url(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PdfReader
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    from tenant_apps.registry.models import Student
    from tenant_apps.reports.certificates import documents, services

    with school_context(world.a.schema):
        pk = pupil(1)
        Student.objects.filter(pk=pk).update(status="07")
        name = Student.objects.get(pk=pk).name
        cert = services.certificate_issue(
            kind="diploma", student_identifier=_identifier(pk), actor=ACTOR
        )
    connection.set_schema_to_public()
    drawn: list[str] = []
    real = documents.qr_drawing

    def spy(url: str, size: float = documents.QR_SIZE) -> Drawing:
        drawing = real(url, size)
        widget = drawing.contents[0]
        assert isinstance(widget, QrCodeWidget)
        drawn.append(str(widget.value))  # what the QR code encodes
        return drawing

    monkeypatch.setattr(documents, "qr_drawing", spy)
    client = login(world.a.host, "registrar")
    response = client.get(f"/reports/certificates/{cert.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = reader.pages[0].extract_text()
    assert name in text
    assert cert.number in text
    assert cert.code in text
    url = f"http://{world.a.host}/verify/{cert.code}/"
    assert drawn == [url]
    assert url in text.replace("\n", "")
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert width > height  # the diploma is landscape


def _verify(host: str, code: str) -> tuple[int, str]:
    response = Client(HTTP_HOST=host).get(f"/verify/{code}/")
    connection.set_schema_to_public()
    return response.status_code, response.content.decode()


def test_verify_page_shows_only_what_item_5_allows(world: World) -> None:
    from tenant_apps.registry.models import Student
    from tenant_apps.reports.certificates import services

    with school_context(world.a.schema):
        pk = pupil(1)
        Student.objects.filter(pk=pk).update(name="欧阳小明")
        student = Student.objects.select_related("school_class").get(pk=pk)
        cert = services.certificate_issue(
            kind="enrolment", student_identifier=str(student.identifier), actor=ACTOR
        )
    status, body = _verify(world.a.host, cert.code)
    assert status == 200
    assert 'data-verify-state="valid"' in body
    assert "真实有效" in body
    masked = "欧**明"  # common.masking.mask_name: first and last character stay
    assert masked in body
    assert cert.number in body
    assert "学籍证明" in body
    assert world.a.name in body
    assert timezone.localdate().isoformat() in body
    rest = body.replace(cert.number, "")  # the number starts with the school's code
    for secret in (
        student.name,
        student.id_number,
        f"{student.birth_date:%Y-%m-%d}",
        f"{student.birth_date:%Y年}",
        student.school_class.name,
        student.national_number or student.name,
        world.a.code,
        "registrar",
        "学籍管理员",
    ):
        assert secret not in rest, secret
    # a void certificate says so; a wrong code gets the same page with 未找到
    with school_context(world.a.schema):
        services.certificate_void(certificate_id=cert.pk, reason="遗失", actor=ACTOR)
    status, body = _verify(world.a.host, cert.code)
    assert 'data-verify-state="void"' in body
    assert "已作废" in body
    status, body = _verify(world.a.host, "ABCDEFGH23")
    assert status == 200
    assert 'data-verify-state="not_found"' in body
    assert "未找到" in body
    status, api = 0, Client(HTTP_HOST=world.a.host).get(f"/api/v1/reports/verify/{cert.code}/")
    assert api.json() == {
        "state": "void",
        "kind": "学籍证明",
        "number": cert.number,
        "name": masked,
        "school": world.a.name,
        "issued_on": timezone.localdate().isoformat(),
    }


def test_another_schools_code_does_not_verify_here(world: World) -> None:
    from tenant_apps.registry.models import Student
    from tenant_apps.reports.certificates import services

    with school_context(world.b.schema):
        pk = pupil(1)
        Student.objects.filter(pk=pk).update(status="07")
        cert = services.certificate_issue(
            kind="diploma", student_identifier=_identifier(pk), actor=ACTOR
        )
    connection.set_schema_to_public()
    assert 'data-verify-state="not_found"' in _verify(world.a.host, cert.code)[1]
    assert 'data-verify-state="valid"' in _verify(world.b.host, cert.code)[1]


def test_verify_is_rate_limited_per_client_address(world: World, settings: Settings) -> None:
    settings.CERTIFICATE_VERIFY_RATE = "3/h"
    answers = [_verify(world.a.host, "ABCDEFGH23")[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    api = Client(HTTP_HOST=world.a.host).get("/api/v1/reports/verify/ABCDEFGH23/")
    assert api.status_code == 429
    # another address is not held
    other = Client(HTTP_HOST=world.a.host, REMOTE_ADDR="10.1.2.3").get("/verify/ABCDEFGH23/")
    assert other.status_code == 200


def test_pages_issue_void_and_api(world: World) -> None:
    from tenant_apps.reports.models.certificates import Certificate

    with school_context(world.a.schema):
        ident = _identifier(pupil(1))
    connection.set_schema_to_public()
    client = login(world.a.host, "registrar")
    home = client.get("/reports/certificates/?find=" + "")
    assert home.status_code == 200
    response = client.post(
        "/reports/certificates/issue/",
        {"kind": "enrolment", "student_id": ident, "purpose": "升学"},
    )
    assert response.status_code == 302
    with school_context(world.a.schema):
        cert = Certificate.objects.get()
    connection.set_schema_to_public()
    assert client.get(response["Location"]).status_code == 200
    listed = client.get("/api/v1/reports/certificates/").json()
    assert [r["number"] for r in listed["results"]] == [cert.number]
    assert listed["results"][0]["id_number"].count("*") == 10  # masked, as in every list
    voided = client.post(
        f"/api/v1/reports/certificates/{cert.pk}/void/",
        {"reason": "重开"},
        content_type="application/json",
    )
    assert voided.status_code == 200
    assert voided.json()["state"] == "void"
    issued = client.post(
        "/api/v1/reports/certificates/",
        {"kind": "enrolment", "student_id": ident},
        content_type="application/json",
    )
    assert issued.status_code == 201
    assert len(issued.json()["issued"]) == 1
    # a teacher without 证书管理 is refused
    teacher = login(world.a.host, "teacher")
    assert teacher.get("/reports/certificates/").status_code == 403
    assert teacher.get("/api/v1/reports/certificates/").status_code == 403
