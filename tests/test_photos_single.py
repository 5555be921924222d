"""照片采集, one student (issue 17 points 1, 2, 8): the upload through the page and the API
kept pending with its warnings, 使用此照片 replacing the current photo, 放弃 keeping it,
the files under the school's prefix, served only through signed links that fail on
another school's host; rights (class teachers and the bureau never upload; a class
teacher sees their own pupil's photo); an audit entry for every change; a failed write
leaving no object behind."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from common.actor import Actor
from conftest import World, login
from tenant_apps.registry.photos.tests.images import encode, portrait
from tenants.context import school_context

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")
WHITE = (250, 250, 250)


@dataclass(frozen=True)
class Pupil:
    pk: int
    uuid: uuid.UUID
    name: str


def pupil(schema: str, name: str, *, teacher: str = "", entry_year: int = 2024) -> Pupil:
    """A registered pupil 在读 in a class of its own (plain values come back)."""
    from tenant_apps.registry.models import SchoolClass, Student

    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=entry_year,
            number=8,
            defaults={"class_no": SchoolClass.make_class_no("primary", entry_year, 8)},
        )
        if teacher:
            SchoolClass.objects.filter(pk=klass.pk).update(teacher_username=teacher)
        last = Student.objects.filter(school_class=klass).count()
        student = Student.objects.create(
            name=name,
            sex="1",
            birth_date=dt.date(2017, 10, 1),
            school_class=klass,
            number_in_class=last + 1,
            entry_year_month=f"{entry_year}09",
            status="01",
            audit_state="registered",
        )
        return Pupil(student.pk, student.identifier, name)


def blue_jpeg() -> bytes:
    return encode(portrait((600, 800)), quality=90)


def white_png() -> bytes:
    return encode(portrait((600, 800), background=WHITE), "PNG")


def _upload(client, p: Pupil, data: bytes, name: str = "手机照片.jpg"):
    response = client.post(
        f"/registry/students/{p.uuid}/photo/",
        {"photo": SimpleUploadedFile(name, data, content_type="image/jpeg")},
    )
    connection.set_schema_to_public()
    return response


def _photos(schema: str, p: Pupil) -> list[tuple[str, str]]:
    from tenant_apps.registry.models import StudentPhoto

    with school_context(schema):
        return list(
            StudentPhoto.objects.filter(student_id=p.pk)
            .order_by("id")
            .values_list("status", "source")
        )


def _links(html: str) -> list[str]:
    return re.findall(r'src="(/files/[^"]+/)"', html)


def test_upload_preview_accept_replace_and_discard_through_the_page(world: World) -> None:
    from django.core.files.storage import default_storage

    from accounts.models import AuditEntry
    from tenant_apps.registry.models import StudentPhoto

    p = pupil(world.a.schema, "照片甲")
    registrar = login(world.a.host, "registrar")

    page = registrar.get(f"/registry/students/{p.uuid}/")
    assert "照片待采集" in page.content.decode()
    assert f"/registry/students/{p.uuid}/photo/" in page.content.decode()
    connection.set_schema_to_public()

    first = _upload(registrar, p, blue_jpeg())
    assert first.status_code == 302
    preview = registrar.get(first["Location"])
    html = preview.content.decode()
    assert "原图" in html
    assert "规范化结果" in html
    assert "使用此照片" in html
    assert "放弃" in html
    assert "照片检查通过" in html
    assert len(_links(html)) == 2  # the original and the national file, both signed links
    connection.set_schema_to_public()
    assert _photos(world.a.schema, p) == [("pending", "upload")]

    photo_id = int(first["Location"].rstrip("/").rsplit("/", 1)[1])
    accepted = registrar.post(
        f"/registry/students/{p.uuid}/photo/{photo_id}/decide/", {"action": "accept"}
    )
    assert accepted.status_code == 302
    connection.set_schema_to_public()
    assert _photos(world.a.schema, p) == [("current", "upload")]

    # A second upload with a white background: warned, never refused; accepted, it
    # replaces the first.
    second = _upload(registrar, p, white_png(), name="白底.png")
    assert second.status_code == 302
    html = registrar.get(second["Location"]).content.decode()
    assert "背景不是淡蓝色" in html
    assert "现用照片" in html
    assert len(_links(html)) == 3
    connection.set_schema_to_public()
    second_id = int(second["Location"].rstrip("/").rsplit("/", 1)[1])
    registrar.post(f"/registry/students/{p.uuid}/photo/{second_id}/decide/", {"action": "accept"})
    connection.set_schema_to_public()
    assert _photos(world.a.schema, p) == [("replaced", "upload"), ("current", "upload")]

    # A third, discarded: the current one stays.
    third = _upload(registrar, p, blue_jpeg())
    third_id = int(third["Location"].rstrip("/").rsplit("/", 1)[1])
    registrar.post(f"/registry/students/{p.uuid}/photo/{third_id}/decide/", {"action": "discard"})
    connection.set_schema_to_public()
    assert _photos(world.a.schema, p) == [
        ("replaced", "upload"),
        ("current", "upload"),
        ("rejected", "upload"),
    ]
    # Deciding twice is refused with a message, nothing changes.
    again = registrar.post(
        f"/registry/students/{p.uuid}/photo/{third_id}/decide/", {"action": "accept"}, follow=True
    )
    assert "这张照片已经处理过（已放弃）" in again.content.decode()
    connection.set_schema_to_public()
    assert [s for s, _ in _photos(world.a.schema, p)] == ["replaced", "current", "rejected"]

    with school_context(world.a.schema):
        current = StudentPhoto.objects.get(student_id=p.pk, status="current")
        assert current.file_key.startswith("photos/")
        assert current.file_key.endswith(".jpg")
        assert re.search(r"-[A-Za-z0-9_-]{22}\.jpg$", current.file_key), "unguessable name"
        assert current.original_key.endswith(".png")
        assert [w["code"] for w in current.warnings] == ["background"]
        assert current.bytes <= 60 * 1024
        assert current.created_by == "registrar"
        with default_storage.open(current.file_key, "rb") as f:
            assert f.read()[:3] == b"\xff\xd8\xff"
        assert default_storage.location == f"schools/{world.a.schema}"  # type: ignore[attr-defined]
        entries = list(
            AuditEntry.objects.filter(object_type="student", object_id=str(p.uuid))
            .order_by("id")
            .values_list("action", "after")
        )
    photo_entries = [after for action, after in entries if action == "write" and "照片" in after]
    assert [e["照片"] for e in photo_entries] == [
        "上传待确认",
        "已采用",
        "上传待确认",
        "替换原照片",
        "上传待确认",
        "已放弃",
    ]
    assert photo_entries[2]["提示"] == [current.warnings[0]["message"]]

    # The student page and the list now show the current photo through a signed link.
    detail = registrar.get(f"/registry/students/{p.uuid}/").content.decode()
    assert "照片待采集" not in detail
    assert len(_links(detail)) == 1
    listing = registrar.get("/registry/students/", {"q": "照片甲"}).content.decode()
    assert len(_links(listing)) == 1
    shown = registrar.get(_links(listing)[0])
    assert shown.status_code == 302  # to a presigned S3 URL minted now, after the audit


def test_a_refused_file_gets_its_chinese_message_and_stores_nothing(world: World) -> None:
    p = pupil(world.a.schema, "照片乙")
    registrar = login(world.a.host, "registrar")
    refused = _upload(registrar, p, b"this is not a picture at all", name="假照片.jpg")
    assert refused.status_code == 400
    assert "这不是可识别的图片文件" in refused.content.decode()
    none = registrar.post(f"/registry/students/{p.uuid}/photo/", {})
    assert none.status_code == 400
    assert "请选择一张照片" in none.content.decode()
    connection.set_schema_to_public()
    assert _photos(world.a.schema, p) == []


def test_a_failed_write_leaves_no_object_behind(world: World, monkeypatch) -> None:
    from django.core.files.storage import default_storage

    from tenant_apps.registry.models import StudentPhoto
    from tenant_apps.registry.photos import services

    p = pupil(world.a.schema, "照片丙")
    saved: list[str] = []
    real_save = services.file_save

    def save_then_remember(stem: str, data: bytes, *, exact: bool = False) -> str:
        key = real_save(stem, data, exact=exact)
        saved.append(key)
        return key

    def refuse(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "file_save", save_then_remember)
    monkeypatch.setattr(StudentPhoto.objects, "create", refuse)
    with school_context(world.a.schema):
        with pytest.raises(RuntimeError):
            services.photo_stage(student_id=p.pk, data=blue_jpeg(), name="a.jpg", actor=ACTOR)
        assert len(saved) == 2, "the national file and the original were written first"
        assert not any(default_storage.exists(k) for k in saved), "and removed again"


def test_rights_class_teachers_see_their_pupils_photo_but_never_upload(
    world: World, bureau_host: str
) -> None:
    from tenant_apps.registry.photos import services

    own = pupil(world.a.schema, "照片丁", teacher="teacher")
    with school_context(world.a.schema):
        photo = services.photo_stage(student_id=own.pk, data=blue_jpeg(), name="a.jpg", actor=ACTOR)
        services.photo_accept(photo_id=photo.pk, actor=ACTOR)

    teacher = login(world.a.host, "teacher")
    assert _upload(teacher, own, blue_jpeg()).status_code == 403
    assert teacher.get(f"/registry/students/{own.uuid}/photo/").status_code == 403
    assert teacher.get("/registry/photos/").status_code == 403
    api = teacher.post(
        f"/api/v1/students/{own.uuid}/photo/", {"photo": SimpleUploadedFile("a.jpg", blue_jpeg())}
    )
    assert api.status_code == 403
    page = teacher.get(f"/registry/students/{own.uuid}/").content.decode()
    assert "上传照片" not in page
    assert "更换照片" not in page
    links = _links(page)
    assert len(links) == 1, "viewing is not maintaining: the class teacher sees the photo"
    assert teacher.get(links[0]).status_code == 302
    connection.set_schema_to_public()
    assert _photos(world.a.schema, own) == [("current", "upload")]

    for username in ("approver", "subject", "staff"):
        client = login(world.a.host, username)
        assert _upload(client, own, blue_jpeg()).status_code == 403, username

    # The bureau has no upload page at all (its host routes no registry pages).
    officer = login(bureau_host, "liuyang")
    response = officer.post(
        f"/registry/students/{own.uuid}/photo/", {"photo": SimpleUploadedFile("a.jpg", blue_jpeg())}
    )
    assert response.status_code == 404
    connection.set_schema_to_public()
    assert _photos(world.a.schema, own) == [("current", "upload")]


def test_a_photo_link_fails_on_another_schools_host_and_for_its_users(world: World) -> None:
    from tenant_apps.registry.photos import selectors, services

    p = pupil(world.a.schema, "照片戊")
    registrar_a = login(world.a.host, "registrar")
    first = _upload(registrar_a, p, blue_jpeg())
    photo_id = int(first["Location"].rstrip("/").rsplit("/", 1)[1])
    registrar_a.post(f"/registry/students/{p.uuid}/photo/{photo_id}/decide/", {"action": "accept"})
    connection.set_schema_to_public()
    link = _links(registrar_a.get(f"/registry/students/{p.uuid}/").content.decode())[0]
    connection.set_schema_to_public()
    assert registrar_a.get(link).status_code == 302

    registrar_b = login(world.b.host, "registrar")
    assert registrar_b.get(link).status_code == 404, "school A's link on school B's host"
    # A link made in a task of school A (no account) opens for A's 查看学籍 holders only.
    with school_context(world.a.schema):
        task_link = selectors.photo_url(selectors.photo_current(student_id=p.pk))
    assert registrar_b.get(task_link).status_code == 404
    admin_a = login(world.a.host, "admin")  # 查看学籍
    assert admin_a.get(task_link).status_code == 302
    subject_a = login(world.a.host, "subject")  # no 查看学籍, no 照片采集
    assert subject_a.get(task_link).status_code == 404
    # School B's own photo of its pupil is not reachable with A's photo id.
    other = pupil(world.b.schema, "照片己")
    with school_context(world.b.schema):
        services.photo_stage(student_id=other.pk, data=blue_jpeg(), name="b.jpg", actor=ACTOR)
    assert registrar_b.get(f"/registry/students/{other.uuid}/photo/{photo_id}/").status_code == 404


def test_the_api_uploads_decides_and_is_in_the_schema(world: World) -> None:
    from accounts.models import AuditEntry

    p = pupil(world.a.schema, "照片庚")
    registrar = login(world.a.host, "registrar")
    created = registrar.post(
        f"/api/v1/students/{p.uuid}/photo/",
        {"photo": SimpleUploadedFile("白底.png", white_png(), content_type="image/png")},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "pending"
    assert body["source"] == "upload"
    assert [w["code"] for w in body["warnings"]] == ["background"]
    assert body["url"].startswith("/files/")
    assert body["original_url"].startswith("/files/")
    refused = registrar.post(
        f"/api/v1/students/{p.uuid}/photo/",
        {"photo": SimpleUploadedFile("x.jpg", b"GIF89a nonsense")},
    )
    assert refused.status_code == 400
    assert "这不是可识别的图片文件" in refused.json()["error"]["message"]
    decided = registrar.post(
        f"/api/v1/students/{p.uuid}/photo/{body['id']}/decide/", {"action": "accept"}
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "current"
    listed = registrar.get(f"/api/v1/students/{p.uuid}/photo/").json()
    assert [x["status"] for x in listed] == ["current"]
    schema = registrar.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/students/{student_id}/photo/" in schema
    assert "/api/v1/students/{student_id}/photo/{photo_id}/decide/" in schema
    connection.set_schema_to_public()
    with school_context(world.a.schema):
        notes = [
            a["照片"]
            for a in AuditEntry.objects.filter(object_id=str(p.uuid))
            .order_by("id")
            .values_list("after", flat=True)
            if "照片" in a
        ]
    assert notes == ["上传待确认", "已采用"]


def test_an_iphone_heic_is_kept_as_a_jpeg_original_the_browser_can_show(world: World) -> None:
    from django.core.files.storage import default_storage

    from tenant_apps.registry.photos import normalise, services

    assert normalise.pillow_heif  # imported: Pillow reads and writes HEIF from here on
    p = pupil(world.a.schema, "照片辛")
    heic = encode(portrait((600, 800)), "HEIF")
    with school_context(world.a.schema):
        photo = services.photo_stage(student_id=p.pk, data=heic, name="IMG_0001.HEIC", actor=ACTOR)
        assert photo.source_format == "HEIF"
        assert photo.original_key.endswith(".jpg")
        with default_storage.open(photo.original_key, "rb") as f:
            shown = f.read()
    assert shown[:3] == b"\xff\xd8\xff"
    assert photo.original_name == "IMG_0001.HEIC"
