"""The 学生信息核对表 carries each pupil's family photo upload link as a QR code, for a
reader who maintains photos; a class teacher's 核对表 carries none (issue 17 point 5)."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test import Client
from pypdf import PdfReader

from conftest import World, login
from tenant_apps.registry.tests.test_rollover import pupil
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _print_check(client: Client, student: str) -> bytes:
    response = client.post(
        "/reports/print/make/", {"document": "check", "scope": "student", "student": student}
    )
    connection.set_schema_to_public()
    assert response.status_code == 200
    return bytes(response.content)


def test_the_check_sheet_has_the_pupils_upload_qr_code(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportlab.graphics.shapes import Drawing

    from tenant_apps.registry.models import FamilyPhotoLink, Student
    from tenant_apps.reports.certificates import documents

    with school_context(world.a.schema):
        student = Student.objects.get(pk=pupil(1))
    drawn: list[str] = []
    real = documents.qr_drawing

    def spy(url: str, size: float = documents.QR_SIZE) -> Drawing:
        drawn.append(url)
        return real(url, size)

    monkeypatch.setattr(documents, "qr_drawing", spy)
    # when
    pdf = _print_check(login(world.a.host, "registrar"), str(student.identifier))
    # then: one QR code, of a live link of this pupil on this school's host
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "扫描右侧二维码" in text
    assert len(drawn) == 1
    prefix = f"http://{world.a.host}/registry/photos/family/"
    assert drawn[0].startswith(prefix)
    with school_context(world.a.schema):
        assert FamilyPhotoLink.objects.filter(student=student, used_at=None).count() == 1
    opened = Client(HTTP_HOST=world.a.host).get(drawn[0].removeprefix(f"http://{world.a.host}"))
    assert opened.status_code == 200
    assert 'data-family-state="open"' in opened.content.decode()


def test_a_reader_without_the_photo_right_prints_no_qr_code(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts.roles import Right
    from tenant_apps.registry.models import FamilyPhotoLink, Student
    from tenant_apps.registry.photos import family

    with school_context(world.a.schema):
        student = Student.objects.get(pk=pupil(1))
    # the registrar's rights without the photo right
    monkeypatch.setattr(family, "PHOTO_RIGHT", Right.USERS_MANAGE)
    pdf = _print_check(login(world.a.host, "registrar"), str(student.identifier))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "学生信息核对表" in text
    assert "扫描右侧二维码" not in text
    with school_context(world.a.schema):
        assert FamilyPhotoLink.objects.count() == 0
