"""Files live under their school's prefix on a real HTTP S3 endpoint (moto server) and
come back through presigned URLs; the local file-system stand-in signs its URLs too.
Every saved name carries a random part, and a /files/ link streams only to the account
it was issued to or a holder of the file kind's right (issue 11, H1 and M1)."""

from __future__ import annotations

import re
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client, override_settings

from conftest import World
from tenants.context import school_context
from tenants.storage import SchoolFileSystemStorage, SchoolS3Storage


def test_s3_keys_are_prefixed_by_school_and_presigned_urls_work(world: World, db: None) -> None:
    from conftest import login

    assert isinstance(default_storage, SchoolS3Storage), "tests run against the moto S3 server"
    with school_context(world.a.schema):
        name = default_storage.save("evidence/note.txt", ContentFile("甲校的文件".encode()))
        link = default_storage.url(name)
    # the link is the application's (which audits the download), then S3's presigned URL
    assert link.startswith("/files/")
    redirected = login(world.a.host, "registrar").get(link)
    assert redirected.status_code == 302
    url = redirected["Location"]
    with school_context(world.b.schema):
        assert not default_storage.exists(name), "school B does not see A's key"
    connection.set_schema_to_public()
    client = default_storage.connection.meta.client
    keys = [
        o["Key"] for o in client.list_objects_v2(Bucket=default_storage.bucket_name)["Contents"]
    ]
    assert f"schools/{world.a.schema}/{name}" in keys
    assert "X-Amz-Signature" in url
    assert "X-Amz-Expires" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read().decode() == "甲校的文件"
    with school_context(world.a.schema):
        default_storage.delete(name)


def test_local_storage_signs_urls_for_its_own_host_only(
    world: World, db: None, tmp_path: Path
) -> None:
    from conftest import login

    storage = SchoolFileSystemStorage(location=str(tmp_path))
    with school_context(world.a.schema):
        name = storage.save("evidence/p.txt", ContentFile(b"photo-bytes"))
        url = storage.url(name)
    connection.set_schema_to_public()
    assert (tmp_path / "schools" / world.a.schema / name).exists()
    registrar = login(world.a.host, "registrar")
    with override_settings(
        STORAGES={
            "default": {
                "BACKEND": "tenants.storage.SchoolFileSystemStorage",
                "OPTIONS": {"location": str(tmp_path)},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        # override_settings resets default_storage, so the download view reads tmp_path.
        ok = registrar.get(url)
        assert ok.status_code == 200
        assert b"".join(ok.streaming_content) == b"photo-bytes"  # type: ignore[attr-defined]
        assert login(world.b.host, "registrar").get(url).status_code == 404
        assert registrar.get(url[:-3] + "xx/").status_code == 404
    connection.set_schema_to_public()


@pytest.mark.parametrize("seconds", [-1])
def test_local_signed_url_expires(world: World, db: None, tmp_path: Path, seconds: int) -> None:
    from tenants.storage import download_token_read

    storage = SchoolFileSystemStorage(location=str(tmp_path))
    with school_context(world.a.schema):
        token = storage.url("x.txt").rstrip("/").rsplit("/", 1)[1]
        assert download_token_read(token) == "x.txt"
        with override_settings(PRESIGNED_URL_SECONDS=seconds):
            assert download_token_read(token) is None
    connection.set_schema_to_public()


def test_school_file_reaches_its_own_bureau_only(world: World, db: None, tmp_path: Path) -> None:
    """佐证 links made for the bureau work on the bureau host for that school's bureau."""
    from django.core import signing

    from conftest import login
    from tenants.storage import SIGNING_SALT

    storage = SchoolFileSystemStorage(location=str(tmp_path))
    with school_context(world.a.schema):
        name = storage.save("evidence/1/e.pdf", ContentFile(b"%PDF-1.4 evidence"))
    connection.set_schema_to_public()
    # a link made for the bureau host (as the registry facade does during its request)
    payload = {"s": world.a.schema, "k": name, "h": "public", "u": world.bureau_user}
    url = "/files/" + signing.dumps(payload, salt=SIGNING_SALT) + "/"
    stores = {
        "default": {
            "BACKEND": "tenants.storage.SchoolFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=stores):
        own = login("localhost", world.bureau_user).get(url)
        assert own.status_code == 200
        assert b"".join(own.streaming_content) == b"%PDF-1.4 evidence"  # type: ignore[attr-defined]
        assert login("localhost", world.other_bureau_user).get(url).status_code == 404
        assert Client(HTTP_HOST="localhost").get(url).status_code == 302  # to the login page
        assert login(world.b.host, "admin").get(url).status_code == 404
        # only a school's proof reaches its bureau: never its imports, even by a link
        with school_context(world.a.schema):
            upload = storage.save("imports/1/upload.xlsx", ContentFile(b"PK-workbook"))
        connection.set_schema_to_public()
        payload = {"s": world.a.schema, "k": upload, "h": "public", "u": world.bureau_user}
        url = "/files/" + signing.dumps(payload, salt=SIGNING_SALT) + "/"
        assert login("localhost", world.bureau_user).get(url).status_code == 404
    connection.set_schema_to_public()


# -- saved names (H1: nothing found by guessing a time or an id) -----------------------

RANDOM_PART = r"[A-Za-z0-9_-]{22}"  # secrets.token_urlsafe(16)


def test_saved_names_carry_a_random_part_in_both_storages(
    world: World, db: None, tmp_path: Path
) -> None:
    asked = "evidence/7/20261206203000.png"
    for storage in (default_storage, SchoolFileSystemStorage(location=str(tmp_path))):
        with school_context(world.a.schema):
            first = storage.save(asked, ContentFile(b"one"))
            second = storage.save(asked, ContentFile(b"two"))
            assert re.fullmatch(rf"evidence/7/20261206203000-{RANDOM_PART}\.png", first)
            assert re.fullmatch(rf"evidence/7/20261206203000-{RANDOM_PART}\.png", second)
            assert first != second
            assert not storage.exists(asked), "the name asked for is never the key"
            with storage.open(second, "rb") as f:
                assert f.read() == b"two"
            storage.delete(first)
            storage.delete(second)
        connection.set_schema_to_public()


def test_backup_keys_are_not_their_time(world: World, db: None) -> None:
    """The H1 probe found 15 dumps in 60 guesses of their UTC second; now each key has
    128 random bits, and the backup is still found, listed and read through its key."""
    from shared_apps.backups.models import SchoolBackup
    from shared_apps.backups.services import school_backup, storage_name

    backups = [school_backup(school_id=world.a.id, kind="manual") for _ in range(2)]
    try:
        pattern = rf"platform/backups/{world.a.schema}/\d{{8}}T\d{{6}}Z-{RANDOM_PART}\.dump"
        for backup in backups:
            assert re.fullmatch(pattern, backup.key), backup.key
        assert backups[0].key != backups[1].key
        with school_context("public"):
            listed = set(
                SchoolBackup.objects.filter(school_id=world.a.id).values_list("key", flat=True)
            )
            assert {b.key for b in backups} <= listed
            with default_storage.open(storage_name(backups[0].key), "rb") as f:
                assert len(f.read()) == backups[0].size
    finally:
        with school_context("public"):
            for backup in backups:
                default_storage.delete(storage_name(backup.key))
        connection.set_schema_to_public()


# -- links bound to the requester (M1) and unforgeable (H1) ---------------------------

OLD_DEV_KEY = "dev-only-insecure-key-change-me"  # main's fallback SECRET_KEY


def _read_file_entries(schema: str, since: int) -> list[tuple[str, str, dict[str, Any]]]:
    from accounts.models import AuditEntry

    with school_context(schema):
        rows = list(
            AuditEntry.objects.filter(id__gt=since, action="read.file")
            .order_by("id")
            .values_list("username", "object_repr", "after")
        )
    connection.set_schema_to_public()
    return [(u, k, a or {}) for u, k, a in rows]


def _last_audit_id(schema: str) -> int:
    from accounts.models import AuditEntry

    with school_context(schema):
        last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    connection.set_schema_to_public()
    return last or 0


def _annotated_batch(world: World) -> tuple[str, str]:
    """School A's import batch with an annotated workbook, as the dry run leaves it:
    (batch id, key of the workbook)."""
    from tenant_apps.registry.models import ImportBatch

    batch_id = uuid.uuid4()
    with school_context(world.a.schema):
        key = default_storage.save(f"imports/{batch_id}/errors.xlsx", ContentFile(b"PK-annotated"))
        ImportBatch.objects.create(
            id=batch_id,
            filename="学生名单.xlsx",
            fmt="xlsx",
            file_key=key,
            annotated_key=key,
            state=ImportBatch.State.READY,
            created_by="registrar",
        )
    connection.set_schema_to_public()
    return str(batch_id), key


def _data_clerk(world: World) -> Client:
    """A teacher of school A given 数据导入导出 as a function right (功能权限)."""
    from accounts.models import User
    from accounts.roles import Right
    from accounts.services import user_create
    from conftest import PASSWORD, login

    with school_context(world.a.schema):
        user_create(username="clerk", full_name="数据员", roles=["all_teachers"])
        user = User.objects.get(username="clerk")
        user.set_password(PASSWORD)
        user.must_change_password = False
        user.extra_rights = [Right.DATA_MANAGE]
        user.save()
    connection.set_schema_to_public()
    return login(world.a.host, "clerk")


def _s3_bytes(response: Any) -> bytes:
    assert response.status_code == 302, response.status_code
    assert "X-Amz-Signature" in response["Location"]
    with urllib.request.urlopen(response["Location"], timeout=10) as s3:
        return bytes(s3.read())


def test_file_link_streams_only_to_its_account_or_the_right(world: World, db: None) -> None:
    from conftest import login

    batch_id, key = _annotated_batch(world)
    registrar = login(world.a.host, "registrar")
    link = registrar.get(f"/api/v1/imports/{batch_id}/").json()["annotated_url"]
    connection.set_schema_to_public()
    assert link.startswith("/files/")
    since = _last_audit_id(world.a.schema)

    # no cookie: the login page (and back), never the file
    anonymous = Client(HTTP_HOST=world.a.host).get(link)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=/files/")
    # accounts of the same school without 数据导入导出: as if there were no such file
    for username in ("teacher", "admin", "approver"):
        assert login(world.a.host, username).get(link).status_code == 404, username
    connection.set_schema_to_public()
    assert _read_file_entries(world.a.schema, since) == []

    # the account it was issued to
    assert _s3_bytes(registrar.get(link)) == b"PK-annotated"
    # another holder of the right: served, and the audit names who asked
    assert _s3_bytes(_data_clerk(world).get(link)) == b"PK-annotated"
    connection.set_schema_to_public()
    assert _read_file_entries(world.a.schema, since) == [
        ("registrar", key, {}),
        ("clerk", key, {"issued_to": "registrar"}),
    ]


def test_link_made_in_a_task_reaches_the_holders_of_the_right(world: World, db: None) -> None:
    """Outside a request (a Celery task) a link names no account: the key's prefix
    decides (imports/: 数据导入导出)."""
    from conftest import login

    _, key = _annotated_batch(world)
    with school_context(world.a.schema):
        link = default_storage.url(key)
    connection.set_schema_to_public()
    assert Client(HTTP_HOST=world.a.host).get(link)["Location"].startswith("/accounts/login/")
    assert login(world.a.host, "teacher").get(link).status_code == 404
    since = _last_audit_id(world.a.schema)
    assert _s3_bytes(login(world.a.host, "registrar").get(link)) == b"PK-annotated"
    assert _read_file_entries(world.a.schema, since) == [("registrar", key, {})]


def test_token_signed_with_the_old_development_key_is_refused(world: World, db: None) -> None:
    """H1: main signed with a published key; a link forged with it opens nothing, not
    even for the account it names."""
    from django.core import signing

    from conftest import login
    from tenants.storage import SIGNING_SALT

    _, key = _annotated_batch(world)
    payload = {"s": world.a.schema, "k": key, "h": world.a.schema, "u": "registrar"}
    forged = "/files/" + signing.dumps(payload, key=OLD_DEV_KEY, salt=SIGNING_SALT) + "/"
    genuine = "/files/" + signing.dumps(payload, salt=SIGNING_SALT) + "/"
    registrar = login(world.a.host, "registrar")
    assert registrar.get(forged).status_code == 404
    assert _s3_bytes(registrar.get(genuine)) == b"PK-annotated"


def test_api_client_opens_its_link_with_its_token(world: World, db: None) -> None:
    """An API client gets `annotated_url` with its token and opens it with the same
    token; a bad token is refused, another account's token gets nothing."""

    def token_of(username: str) -> str:
        from conftest import PASSWORD

        response = Client(HTTP_HOST=world.a.host).post(
            "/api/v1/auth/token/", {"username": username, "password": PASSWORD}
        )
        connection.set_schema_to_public()
        assert response.status_code == 200, response.content
        return str(response.json()["token"])

    batch_id, _ = _annotated_batch(world)
    api = Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION=f"Token {token_of('registrar')}")
    link = api.get(f"/api/v1/imports/{batch_id}/").json()["annotated_url"]
    connection.set_schema_to_public()
    assert _s3_bytes(api.get(link)) == b"PK-annotated"
    teacher = Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION=f"Token {token_of('teacher')}")
    assert teacher.get(link).status_code == 404
    bad = Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get(link).status_code == 403


def test_random_part_survives_a_length_limit() -> None:
    from tenants.storage import unguessable_name

    name = unguessable_name("imports/1/" + "长" * 300 + ".xlsx", max_length=100)
    assert len(name) <= 100
    assert re.fullmatch(rf"imports/1/长+-{RANDOM_PART}\.xlsx", name)


def test_platform_files_open_for_no_one_by_right(world: World, db: None) -> None:
    """A backup's link made outside a request names no account, and no right opens the
    platform's own files: operator and bureau get nothing."""
    from conftest import login

    with school_context("public"):
        key = default_storage.save("backups/_full/20261206T000000Z.dump", ContentFile(b"dump"))
        link = default_storage.url(key)
    connection.set_schema_to_public()
    try:
        for username in (world.operator, world.bureau_user):
            assert login("localhost", username).get(link).status_code == 404, username
    finally:
        with school_context("public"):
            default_storage.delete(key)
        connection.set_schema_to_public()


def test_take_away_files_download_under_their_readable_name_and_evidence_stays_inline(
    world: World, db: None
) -> None:
    """An export or print batch (exports/) is an attachment named as the user would save
    it (学籍卡片-三年级.pdf, without the random part of its key), from S3 through the
    presigned URL's content-disposition override; evidence opens inline as before."""
    from django.test import RequestFactory

    from accounts.models import User
    from conftest import login
    from tenants.storage import download_name, download_request_bind, download_url

    assert (
        download_name("exports/print/学籍卡片-三年级-" + "A" * 22 + ".pdf") == "学籍卡片-三年级.pdf"
    )
    assert download_name("evidence/7/proof-" + "A" * 22 + ".png") is None
    with school_context(world.a.schema):
        request = RequestFactory().get("/")
        request.user = User.objects.get(username="registrar")
        request.tenant = world.a  # type: ignore[attr-defined]
        export = default_storage.save("exports/print/学籍卡片-三年级.pdf", ContentFile(b"%PDF-"))
        proof = default_storage.save("evidence/proof.pdf", ContentFile(b"%PDF-"))
        with download_request_bind(request):
            links = {export: download_url(export), proof: download_url(proof)}
    connection.set_schema_to_public()
    registrar = login(world.a.host, "registrar")
    headers = {}
    for key, link in links.items():
        presigned = registrar.get(link)["Location"]
        with urllib.request.urlopen(presigned, timeout=10) as response:
            assert response.read() == b"%PDF-"
            headers[key] = response.headers.get("Content-Disposition", "")
    assert headers[export].startswith("attachment;")
    assert (
        "filename*=UTF-8''%E5%AD%A6%E7%B1%8D%E5%8D%A1%E7%89%87-%E4%B8%89%E5%B9%B4%E7%BA%A7.pdf"
        in headers[export]
    )
    assert not headers[proof].startswith("attachment")
    with school_context(world.a.schema):
        default_storage.delete(export)
        default_storage.delete(proof)
