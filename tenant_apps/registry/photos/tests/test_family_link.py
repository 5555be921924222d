"""The family upload link (issue 17 point 5): made per pupil or per class, opened without
an account showing only the masked name and class, refused once used, expired, forged or
on another school's host, rate-limited per address, and every step in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from common.actor import Actor
from common.masking import mask_name
from conftest import World, login
from tenant_apps.registry.tests.test_rollover import pupil
from tenants.context import school_context

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")


def _student(pk: int):  # noqa: ANN202 - a model instance
    from tenant_apps.registry.models import Student

    return Student.objects.select_related("school_class").get(pk=pk)


def _issue(pk: int) -> str:
    from tenant_apps.registry.photos.family import family_links_issue

    student = _student(pk)
    return family_links_issue(actor=ACTOR, student_ids=[str(student.identifier)])[0].token


def _open(host: str, token: str, address: str = "127.0.0.1") -> tuple[int, str]:
    client = Client(HTTP_HOST=host, REMOTE_ADDR=address)
    response = client.get(f"/registry/photos/family/{token}/")
    connection.set_schema_to_public()
    return response.status_code, response.content.decode()


def _actions(schema: str) -> list[tuple[str, str, str]]:
    from accounts.models import AuditEntry

    with school_context(schema):
        return list(
            AuditEntry.objects.filter(action__startswith="photo.family")
            .order_by("pk")
            .values_list("action", "username", "object_repr")
        )


def test_the_link_shows_only_the_masked_name_and_class(world: World) -> None:
    with school_context(world.a.schema):
        student = _student(pupil(1))
        token = _issue(student.pk)
        name, class_name = student.name, student.school_class.name
    # when
    status, body = _open(world.a.host, token)
    # then
    assert status == 200
    assert 'data-family-state="open"' in body
    assert mask_name(name) in body
    assert name not in body
    assert class_name in body
    assert student.id_number not in body
    assert 'accept="image/*" capture="user"' in body
    assert _actions(world.a.schema) == [
        ("photo.family.link", "registrar", name),
        ("photo.family.open", "家长（上传链接）", mask_name(name)),
    ]


def test_a_class_gets_one_link_per_pupil_in_school(world: World) -> None:
    from tenant_apps.registry.models import FamilyPhotoLink
    from tenant_apps.registry.photos.family import family_links_issue

    with school_context(world.a.schema):
        pks = [pupil(n) for n in (1, 2, 3)]
        class_id = _student(pks[0]).school_class_id
        # when
        issued = family_links_issue(actor=ACTOR, class_id=class_id)
        # then
        assert sorted(link.student_pk for link in issued) == sorted(pks)
        assert len({link.token for link in issued}) == 3
        assert FamilyPhotoLink.objects.filter(student_id__in=pks).count() == 3
        # only the digest is stored, never the link
        stored = set(FamilyPhotoLink.objects.values_list("digest", flat=True))
        assert not any(link.token.split(":")[0] in stored for link in issued)


def test_a_used_link_is_refused_with_a_clear_page(world: World) -> None:
    from tenant_apps.registry.models import FamilyPhotoLink

    with school_context(world.a.schema):
        token = _issue(pupil(1))
        FamilyPhotoLink.objects.update(used_at=timezone.now())
    status, body = _open(world.a.host, token)
    assert status == 410
    assert "此链接已使用过" in body
    assert 'data-family-state="refused"' in body
    assert _actions(world.a.schema)[-1][0] == "photo.family.refused"


def test_an_expired_link_is_refused(world: World) -> None:
    from tenant_apps.registry.models import FamilyPhotoLink

    with school_context(world.a.schema):
        token = _issue(pupil(1))
        FamilyPhotoLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    status, body = _open(world.a.host, token)
    assert status == 410
    assert "此链接已过期" in body


def test_a_forged_or_cut_link_is_refused(world: World) -> None:
    with school_context(world.a.schema):
        token = _issue(pupil(1))
    nonce, signature = token.split(":")
    forged = f"{nonce[:-1]}{'A' if nonce[-1] != 'A' else 'B'}:{signature}"
    for bad in (forged, nonce, f"{nonce}:x"):
        status, body = _open(world.a.host, bad)
        assert status == 404, bad
        assert "此链接无效" in body


def test_a_link_of_one_school_fails_on_another_schools_host(world: World) -> None:
    with school_context(world.a.schema):
        student = _student(pupil(1))
        token = _issue(student.pk)
    status, body = _open(world.b.host, token)
    assert status == 404
    assert "此链接无效" in body
    assert student.school_class.name not in body
    # and it still works at home
    assert _open(world.a.host, token)[0] == 200


def test_the_family_page_is_rate_limited_per_address(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenant_apps.registry.photos import family_views

    with school_context(world.a.schema):
        token = _issue(pupil(1))
    monkeypatch.setattr(family_views, "FAMILY_RATE", "3/h")
    answers = [_open(world.a.host, token)[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert _open(world.a.host, token, address="10.1.2.3")[0] == 200


def test_the_school_page_makes_links_with_qr_codes(world: World) -> None:
    with school_context(world.a.schema):
        student = _student(pupil(1))
    client = login(world.a.host, "registrar")
    response = client.post(
        "/registry/photos/family/links/", {"student_id": str(student.identifier)}
    )
    connection.set_schema_to_public()
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("data:image/svg+xml") == 1
    assert f"http://{world.a.host}/registry/photos/family/" in body
    # a class teacher may not hand out links (photos are never the class teacher's)
    teacher = login(world.a.host, "teacher")
    refused = teacher.post(
        "/registry/photos/family/links/", {"student_id": str(student.identifier)}
    )
    assert refused.status_code == 403
    # nonsense gets the page's Chinese message, not an error
    wrong = client.post("/registry/photos/family/links/", {"student_id": "not-an-id"})
    connection.set_schema_to_public()
    assert wrong.status_code == 404
    assert "没有找到要生成链接的在读学生" in wrong.content.decode()
