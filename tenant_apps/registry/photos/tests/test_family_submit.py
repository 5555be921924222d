"""The family upload link end to end (issue 17 point 5): a picture becomes the national
file shown on the page, the submission files exactly that file as a PENDING family
photo on the school's storage and uses the link up; a second submission, a preview of
another pupil's link, or a tampered file are refused; every step is audited."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from common.actor import Actor
from conftest import World
from tenant_apps.registry.photos.tests.images import encode, portrait
from tenant_apps.registry.tests.test_rollover import pupil
from tenants.context import school_context

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")


def _token(pk: int) -> str:
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.photos.family import family_links_issue

    identifier = str(Student.objects.get(pk=pk).identifier)
    return family_links_issue(actor=ACTOR, student_ids=[identifier])[0].token


def _preview(client: Client, token: str, data: bytes) -> tuple[int, str]:
    upload = SimpleUploadedFile("IMG_0001.jpg", data, content_type="image/jpeg")
    response = client.post(f"/registry/photos/family/{token}/", {"photo": upload})
    connection.set_schema_to_public()
    return response.status_code, response.content.decode()


def _hidden(body: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', body)
    assert found is not None, name
    return found.group(1)


def _submit(client: Client, token: str, proof: str, data: str) -> tuple[int, str]:
    response = client.post(
        f"/registry/photos/family/{token}/", {"proof": proof, "photo_data": data}
    )
    connection.set_schema_to_public()
    return response.status_code, response.content.decode()


def test_preview_then_submit_files_a_pending_family_photo_once(world: World) -> None:
    import base64

    from accounts.models import AuditEntry
    from tenant_apps.registry.models import FamilyPhotoLink, StudentPhoto

    with school_context(world.a.schema):
        pk = pupil(1)
        token = _token(pk)
    family = Client(HTTP_HOST=world.a.host)
    # when: a phone picture on white (a warning, never a refusal)
    status, body = _preview(
        family, token, encode(portrait((1200, 1600), background=(255, 255, 255)))
    )
    # then: the national file is shown with the background warning
    assert status == 200
    assert 'data-family-state="preview"' in body
    assert 'src="data:image/jpeg;base64,' in body
    assert "背景" in body
    proof, data = _hidden(body, "proof"), _hidden(body, "photo_data")
    with school_context(world.a.schema):
        assert StudentPhoto.objects.count() == 0  # nothing stored by a preview
    # when: the family submits it
    status, body = _submit(family, token, proof, data)
    # then
    assert status == 200
    assert 'data-family-state="submitted"' in body
    with school_context(world.a.schema):
        photo = StudentPhoto.objects.get()
        assert photo.student_id == pk
        assert photo.status == StudentPhoto.Status.PENDING
        assert photo.source == StudentPhoto.Source.FAMILY
        assert "background" in [w["code"] for w in photo.warnings]
        with default_storage.open(photo.file_key, "rb") as stored:
            assert stored.read() == base64.b64decode(data)
        assert FamilyPhotoLink.objects.get().used_at is not None
        actions = list(
            AuditEntry.objects.filter(action__startswith="photo.family")
            .order_by("pk")
            .values_list("action", flat=True)
        )
        assert actions == [
            "photo.family.link",
            "photo.family.preview",
            "photo.family.submit",
        ]
    # a second submission of the same preview, and a new preview, are refused
    again, body = _submit(family, token, proof, data)
    assert again == 410
    assert "此链接已使用过" in body
    assert _preview(family, token, encode(portrait()))[0] == 410
    with school_context(world.a.schema):
        assert StudentPhoto.objects.count() == 1
        assert AuditEntry.objects.filter(action="photo.family.refused").count() == 2


def test_a_preview_of_one_pupil_cannot_be_submitted_for_another(world: World) -> None:
    from tenant_apps.registry.models import FamilyPhotoLink, StudentPhoto

    with school_context(world.a.schema):
        first, second = _token(pupil(1)), _token(pupil(2))
    family = Client(HTTP_HOST=world.a.host)
    _, body = _preview(family, first, encode(portrait()))
    proof, data = _hidden(body, "proof"), _hidden(body, "photo_data")
    # when: the first link's preview is sent through the second link
    status, body = _submit(family, second, proof, data)
    # then
    assert status == 400
    assert "预览已失效" in body
    # and a file swapped under the first link's proof
    other = _hidden(
        _preview(family, first, encode(portrait(background=(200, 60, 60))))[1], "photo_data"
    )
    assert _submit(family, first, proof, other)[0] == 400
    with school_context(world.a.schema):
        assert StudentPhoto.objects.count() == 0
        assert FamilyPhotoLink.objects.filter(used_at__isnull=False).count() == 0


def test_a_file_that_is_no_picture_gets_a_chinese_message(world: World) -> None:
    with school_context(world.a.schema):
        token = _token(pupil(1))
    status, body = _preview(Client(HTTP_HOST=world.a.host), token, b"%PDF-1.4 not a photo")
    assert status == 400
    assert 'data-family-state="open"' in body
    assert re.search(r'class="flash error" role="alert">[^<]*[\u4e00-\u9fff]', body)
