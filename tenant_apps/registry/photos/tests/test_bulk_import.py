"""照片批量导入 (issue 17 points 3 and 8): the dry run reports every kind of file with
exact counts before anything is stored; 确认导入 stores exactly the matched ones as
current photos on the school's S3; a failing confirmation leaves no photo and no file;
the pages follow the job and open the report for its owner only."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client

from common.actor import Actor
from conftest import World, login
from tenant_apps.registry.photos.tests.images import encode, portrait
from tenant_apps.registry.tests.test_rollover import pupil
from tenants.context import school_context

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")


def _national(spec_size: tuple[int, int] = (358, 441)) -> bytes:
    """A file that meets the national spec already (kept byte for byte)."""
    return encode(portrait(spec_size), quality=80)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in files.items():
            out.writestr(name, data)
    return buffer.getvalue()


def _school_pupils() -> list[Any]:
    """Six pupils; the fifth renamed to the sixth's name (a 重名 pair)."""
    from tenant_apps.registry.models import Student

    pks = [pupil(n) for n in range(1, 7)]
    sixth = Student.objects.get(pk=pks[5])
    Student.objects.filter(pk=pks[4]).update(name=sixth.name)
    return list(Student.objects.filter(pk__in=pks).order_by("pk"))


def _every_kind(students: list[Any]) -> dict[str, bytes]:
    one, two, three, four, _five, six = students
    picture = encode(portrait((900, 1200)))
    return {
        f"一年级/1班/{one.id_number}.jpg": picture,  # matched, normalised
        f"一年级/1班/{two.id_number.lower()}.png": encode(
            portrait((900, 1200), background=(255, 255, 255)), "PNG"
        ),  # matched, normalised, background warning
        f"{three.name}.jpg": _national(),  # matched by name, kept as it came
        f"{four.id_number}.jpg": picture,  # duplicate ...
        f"一年级/{four.name}.jpg": picture,  # ... duplicate
        f"{six.name}.jpg": picture,  # ambiguous: two pupils of that name, no folder
        "张三丰.jpg": picture,  # unmatched
        "../escape.jpg": picture,  # refused: path
        "nested.zip": _zip({"a.jpg": picture}),  # refused: nested archive
        "说明.jpg": "请按身份证号命名".encode(),  # refused: not an image
        f"{six.id_number}.jpg": b"\xff\xd8\xff\xe0" + b"\0" * 64,  # refused: broken JPEG
        "__MACOSX/._x.jpg": b"junk",  # skipped silently
        ".DS_Store": b"junk",
    }


def _check(world: World, files: dict[str, bytes]) -> tuple[Any, str, str]:
    """Run the dry run on `files` as a job of the registrar; (report, report link, job id)."""
    from accounts.models import User
    from shared_apps.jobs.services import job_create
    from tenant_apps.registry.photos import bulk

    owner = User.objects.get(username="registrar").pk
    job_id = str(job_create(owner_id=owner, kind=bulk.CHECK_KIND, title="照片").pk)
    key = default_storage.save("imports/photos/t.zip", ContentFile(_zip(files)))
    seen: list[int] = []
    report, report_key = bulk.bulk_check(
        job_id=job_id,
        upload_key=key,
        filename="photos.zip",
        progress=lambda percent, message: seen.append(percent),
    )
    assert seen == sorted(seen)
    return report, bulk.report_link(job_id=job_id, report_key=report_key), job_id


def _photo_keys() -> set[str]:
    """Every stored national/original photo file of this school."""
    from tenant_apps.registry.models import StudentPhoto

    return set(StudentPhoto.objects.values_list("file_key", flat=True))


def _stored_under(prefix: str) -> set[str]:
    found: set[str] = set()
    folders = [prefix]
    while folders:
        folder = folders.pop()
        dirs, files = default_storage.listdir(folder)
        found |= {f"{folder}/{f}" for f in files}
        folders += [f"{folder}/{d}" for d in dirs]
    return found


def test_the_dry_run_counts_every_kind_of_file_exactly(world: World) -> None:
    from tenant_apps.registry.models import StudentPhoto

    with school_context(world.a.schema):
        students = _school_pupils()
        # when
        report, _link, _job = _check(world, _every_kind(students))
        # then
        assert report.counts == {
            "total": 11,
            "matched": 3,
            "normalised": 2,
            "warned": 1,
            "unmatched": 1,
            "ambiguous": 1,
            "duplicate": 2,
            "refused": 4,
        }
        by_path = {row.path: row for row in report.rows}
        assert by_path["说明.jpg"].reason.startswith("非图片文件")
        assert by_path["nested.zip"].reason.startswith("嵌套压缩包")
        assert by_path["张三丰.jpg"].status == "unmatched"
        kept = by_path[f"{students[2].name}.jpg"]
        assert kept.status == "matched"
        assert kept.normalised is False
        # the report never shows an ID number in full
        assert not any(s.id_number in row.path for row in report.rows for s in students)
        # nothing of the registry was written
        assert StudentPhoto.objects.count() == 0


def test_confirm_stores_exactly_the_matched_ones_as_current_photos(world: World) -> None:
    from tenant_apps.registry.models import StudentPhoto
    from tenant_apps.registry.photos import bulk

    with school_context(world.a.schema):
        students = _school_pupils()
        report, link, _job = _check(world, _every_kind(students))
        token = link.rstrip("/").rsplit("/", 1)[-1]
        from accounts.models import User

        owner = User.objects.get(username="registrar").pk
        # when
        stored, skipped = bulk.bulk_store(
            token=token, owner_id=owner, actor=ACTOR, progress=lambda p, m: None
        )
        # then
        assert (stored, skipped) == (3, 0)
        photos = list(StudentPhoto.objects.order_by("student_id"))
        assert [p.student_id for p in photos] == [s.pk for s in students[:3]]
        assert {p.status for p in photos} == {StudentPhoto.Status.CURRENT}
        assert {p.source for p in photos} == {StudentPhoto.Source.BULK}
        for photo in photos:
            with default_storage.open(photo.file_key, "rb") as f:
                assert f.read(3) == b"\xff\xd8\xff"
        # the national file kept as it came
        with default_storage.open(photos[2].file_key, "rb") as f:
            assert f.read() == _national()
        # the upload and the staged files are gone
        assert not default_storage.exists(report.staged_key)
        assert not default_storage.exists(report.upload_key)


def test_a_failing_confirm_leaves_no_photo_and_no_file(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts.models import User
    from tenant_apps.registry.models import StudentPhoto
    from tenant_apps.registry.photos import bulk

    with school_context(world.a.schema):
        students = _school_pupils()
        report, link, _job = _check(world, _every_kind(students))
        token = link.rstrip("/").rsplit("/", 1)[-1]
        owner = User.objects.get(username="registrar").pk
        before = _stored_under("photos") if default_storage.exists("photos") else set()
        real = bulk.photo_store
        calls: list[int] = []

        def failing(**kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("storage went away")
            return real(**kwargs)

        monkeypatch.setattr(bulk, "photo_store", failing)
        # when
        with pytest.raises(RuntimeError):
            bulk.bulk_store(token=token, owner_id=owner, actor=ACTOR, progress=lambda p, m: None)
        # then
        assert StudentPhoto.objects.count() == 0
        after = _stored_under("photos") if default_storage.exists("photos") else set()
        assert after == before
        # and the report stays, to try again
        assert default_storage.exists(report.staged_key)


def test_the_pages_follow_the_job_and_show_the_report_to_its_owner_only(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from celery import current_app as app

    from shared_apps.jobs.models import Job
    from tenant_apps.registry.models import StudentPhoto

    with school_context(world.a.schema):
        students = _school_pupils()
        files = _every_kind(students)
    registrar = login(world.a.host, "registrar")
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            started = registrar.post(
                "/registry/photos/bulk/",
                {"archive": ContentFile(_zip(files), name="照片.zip")},
            )
        connection.set_schema_to_public()
        assert started.status_code == 302
        job = Job.objects.get(kind="photo_bulk_check")
        assert job.state == Job.State.SUCCEEDED, job.message
        # the job page sends the owner on to the report
        follow = registrar.get(started["Location"])
        connection.set_schema_to_public()
        assert follow["Location"] == job.result_url
        page = registrar.get(job.result_url).content.decode()
        connection.set_schema_to_public()
        assert 'data-count="matched">3<' in page
        assert 'data-count="refused">4<' in page
        assert "非图片文件" in page
        # nobody else opens it, not even another registrar-like role
        other = login(world.a.host, "admin").get(job.result_url)
        connection.set_schema_to_public()
        assert other.status_code == 403
        teacher = login(world.a.host, "teacher").get(job.result_url)
        connection.set_schema_to_public()
        assert teacher.status_code == 403
        intruder = Client(HTTP_HOST=world.b.host).get(job.result_url)
        connection.set_schema_to_public()
        assert intruder.status_code in (302, 404)
        # 确认导入
        with django_capture_on_commit_callbacks(execute=True):
            confirmed = registrar.post(job.result_url + "confirm/")
        connection.set_schema_to_public()
        assert confirmed.status_code == 302
        store = Job.objects.get(kind="photo_bulk_store")
        assert store.state == Job.State.SUCCEEDED, store.message
        assert store.message == "已导入 3 张照片。"
        # a second confirmation of the same report is refused
        again = registrar.post(job.result_url + "confirm/")
        connection.set_schema_to_public()
        assert again.status_code == 302
        assert Job.objects.filter(kind="photo_bulk_store").count() == 1
    finally:
        app.conf.task_always_eager = False
    with school_context(world.a.schema):
        assert StudentPhoto.objects.filter(source="bulk", status="current").count() == 3


def test_an_archive_refused_as_a_whole_fails_the_job_with_the_reason(world: World) -> None:
    registrar = login(world.a.host, "registrar")
    response = registrar.post(
        "/registry/photos/bulk/", {"archive": ContentFile(b"not a zip", name="x.zip")}
    )
    connection.set_schema_to_public()
    assert response.status_code == 400
    assert "ZIP" in response.content.decode()


def test_a_size_hidden_by_a_lying_header_refuses_the_archive_from_the_reading_process(
    world: World,
) -> None:
    # The files are fetched by the processes that normalise them, after matching: a
    # matched entry whose header claims 1 KB for 30 MB must still refuse the whole
    # archive, with nothing staged, exactly as the parent's own reading would.
    from tenant_apps.registry.photos.normalise import PhotoRejected

    with school_context(world.a.schema):
        first, second = _school_pupils()[:2]
        picture = encode(portrait((900, 1200)))
        hidden = b"\xff\xd8\xff\xe0" + b"\0" * (30 * 1024 * 1024)
        files = {f"{first.id_number}.jpg": picture, f"{second.id_number}.jpg": hidden}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in files.items():
                out.writestr(name, data)
        real = buffer.getvalue()
        declared = zipfile.ZipFile(io.BytesIO(real)).infolist()[1].file_size
        forged = real.replace(declared.to_bytes(4, "little"), (1024).to_bytes(4, "little"))
        assert forged != real

        from accounts.models import User
        from shared_apps.jobs.services import job_create
        from tenant_apps.registry.photos import bulk

        owner = User.objects.get(username="registrar").pk
        job_id = str(job_create(owner_id=owner, kind=bulk.CHECK_KIND, title="照片").pk)
        key = default_storage.save("imports/photos/forged.zip", ContentFile(forged))
        with pytest.raises(PhotoRejected) as exc:
            bulk.bulk_check(
                job_id=job_id, upload_key=key, filename="f.zip", progress=lambda p, m: None
            )
        assert exc.value.code in {"bomb", "broken"}
        # the reason names the file, its ID number masked as the report masks it
        assert second.id_number not in exc.value.message
        assert f"{second.id_number[:4]}**********{second.id_number[-4:]}" in exc.value.message
        assert _stored_under(f"imports/photos/{job_id}") == set()
