"""Evidence images above the pixel limit and decompression bombs (issue 11, L5): a clear
400 naming the file and the limit through the real upload routes of a problem record (API
and page) and of a status change, never a 500, and nothing stored. The PNGs are written
by hand, one bit per pixel, so a 144-megapixel image is 18 KB on disk and in memory."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from conftest import World, login
from tenant_apps.registry.problems.services import (
    MAX_EVIDENCE_PIXELS,
    MSG_EVIDENCE_BOMB,
    MSG_EVIDENCE_PIXELS,
    evidence_check,
)
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db

LIMIT = MAX_EVIDENCE_PIXELS // 10_000  # in 万 as the message says


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, *, rows: int | None = None, extra: bytes = b"") -> bytes:
    """A valid black 1-bit PNG of width×height; `rows` writes only that many pixel rows
    (a bomb needs nothing but its header), `extra` adds chunks before the pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    squeeze = zlib.compressobj(9)
    line = b"\x00" * (1 + (width + 7) // 8)
    pixels = b"".join(squeeze.compress(line) for _ in range(height if rows is None else rows))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra
        + _chunk(b"IDAT", pixels + squeeze.flush())
        + _chunk(b"IEND", b"")
    )


def _jpeg(width: int, height: int) -> bytes:
    """A real 8×8 JPEG whose frame header claims width×height (the header is all Pillow
    reads on open)."""
    out = io.BytesIO()
    Image.new("L", (8, 8), 255).save(out, format="JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


# 12000×12000: the finding's 144 megapixels, and twice the limit over (Pillow's bomb error)
BIG_PNG = _png(12000, 12000)
# 60000×60000 declared, ten rows written: 3.6 billion pixels from a 1 KB file
BOMB_PNG = _png(60000, 60000, rows=10)
# a 5 MB text chunk (Pillow allows 1 MB) deflated into 5 KB in front of a tiny image
TEXT_BOMB_PNG = _png(
    10, 10, extra=_chunk(b"zTXt", b"note\x00\x00" + zlib.compress(b"a" * 5 * 1024 * 1024))
)
# 7000×7000 = 49 megapixels: above the limit, below twice it (Pillow only warns there)
WIDE_JPEG = _jpeg(7000, 7000)


def _pixels(name: str) -> str:
    return MSG_EVIDENCE_PIXELS.format(name=name, limit=LIMIT)


REFUSED = [
    ("户口簿.png", BIG_PNG, _pixels("户口簿.png")),
    ("bomb.png", BOMB_PNG, _pixels("bomb.png")),
    ("note.png", TEXT_BOMB_PNG, MSG_EVIDENCE_BOMB.format(name="note.png")),
    ("手机照片.jpg", WIDE_JPEG, _pixels("手机照片.jpg")),
]


def _stored(prefix: str) -> set[str]:
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]
    listing = client.list_objects_v2(Bucket=default_storage.bucket_name, Prefix=prefix)  # type: ignore[attr-defined]
    return {o["Key"] for o in listing.get("Contents", [])}


def _make_problem(world: World) -> int:
    """The same pupil registered in school B and then in school A without a resident ID
    number (two different valid ID numbers would be two children: the twin guard), so
    查重 suspects it: a problem record in A."""
    from tenant_apps.registry.models import ProblemRecord

    first = valid_row(seq=7401, name="欧阳图图")
    b = login(world.b.host, "registrar")
    assert b.post("/api/v1/students/", first, content_type="application/json").status_code == 201
    second = valid_row(seq=7402, name="欧阳图图", birth_date=first["birth_date"], sex=first["sex"])
    second.update(id_type="其他", id_number="")
    a = login(world.a.host, "registrar")
    assert a.post("/api/v1/students/", second, content_type="application/json").status_code == 201
    connection.set_schema_to_public()
    with school_context(world.a.schema):
        return ProblemRecord.objects.get(student__name="欧阳图图").pk


def _problem_untouched(world: World, problem_id: int) -> None:
    from tenant_apps.registry.models import Evidence, ProblemRecord

    with school_context(world.a.schema):
        assert not Evidence.objects.filter(problem_id=problem_id).exists()
        assert ProblemRecord.objects.get(pk=problem_id).state == "open"
    connection.set_schema_to_public()
    assert _stored(f"schools/{world.a.schema}/evidence/{problem_id}/") == set()


def test_the_limit_is_forty_megapixels_and_named_in_chinese() -> None:
    assert MAX_EVIDENCE_PIXELS == 40_000_000
    assert _pixels("a.png") == (
        "图片“a.png”像素过多，超过4000万像素的上限，请缩小图片尺寸或降低拍照分辨率后重新上传。"
    )
    # just under the limit is still an ordinary photo of a document
    assert evidence_check(name="扫描件.png", data=_png(6000, 6600)) == "image/png"
    assert evidence_check(name="照片.jpg", data=_jpeg(6000, 6600)) == "image/jpeg"


@pytest.mark.parametrize(("name", "data", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_problem_evidence_api_refuses_huge_images_and_bombs(
    world: World, name: str, data: bytes, message: str
) -> None:
    problem_id = _make_problem(world)
    registrar = login(world.a.host, "registrar")

    response = registrar.post(
        f"/api/v1/problems/{problem_id}/evidence/", {"file": SimpleUploadedFile(name, data)}
    )
    connection.set_schema_to_public()

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["message"] == message
    assert error["fields"]["file"] == [message]
    _problem_untouched(world, problem_id)


def test_problem_evidence_page_refuses_a_bomb_with_the_message(world: World) -> None:
    problem_id = _make_problem(world)
    registrar = login(world.a.host, "registrar")

    response = registrar.post(
        f"/registry/problems/{problem_id}/evidence/",
        {"file": SimpleUploadedFile("bomb.png", BOMB_PNG), "note": "户口簿"},
        follow=True,
    )
    connection.set_schema_to_public()

    assert response.status_code == 200
    assert _pixels("bomb.png") in response.content.decode()
    _problem_untouched(world, problem_id)


def test_status_change_refuses_a_144_megapixel_png_and_writes_nothing(world: World) -> None:
    from django.utils import timezone

    from shared_apps.student_index.services import index_upsert
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import SchoolClass, StatusChange, Student
    from tenant_apps.registry.students.services import current_school, index_record

    with school_context(world.a.schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=2024,
            number=9,
            defaults={"class_no": SchoolClass.make_class_no("primary", 2024, 9)},
        )
        pupil = Student.objects.create(
            name="像素甲",
            sex="1",
            birth_date=dt.date(2017, 10, 1),
            school_class=klass,
            entry_year_month="202409",
            status="01",
            audit_state="registered",
        )
        pupil = Student.objects.select_related("school_class").get(pk=pupil.pk)
        index_upsert(school_id=current_school().id, records=[index_record(pupil)])
    connection.set_schema_to_public()
    cases_before = Case.objects.count()
    stored_before = _stored(f"schools/{world.a.schema}/")

    response = login(world.a.host, "registrar").post(
        "/api/v1/status-changes/",
        {
            "student_id": str(pupil.identifier),
            "kind": "DEATH",
            "change_date": timezone.localdate().isoformat(),
            "files": [SimpleUploadedFile("死亡证明.png", BIG_PNG)],
        },
    )
    connection.set_schema_to_public()

    assert response.status_code == 400, response.content
    message = _pixels("死亡证明.png")
    assert response.json()["error"]["message"] == message
    assert response.json()["error"]["fields"]["files"] == [message]
    with school_context(world.a.schema):
        assert not StatusChange.objects.filter(student_id=pupil.pk).exists()
    connection.set_schema_to_public()
    assert Case.objects.count() == cases_before
    assert _stored(f"schools/{world.a.schema}/") == stored_before
