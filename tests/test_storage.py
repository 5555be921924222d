"""Files live under their school's prefix on a real HTTP S3 endpoint (moto server) and
come back through presigned URLs; the local file-system stand-in signs its URLs too."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client, override_settings

from conftest import World
from tenants.context import school_context
from tenants.storage import SchoolFileSystemStorage, SchoolS3Storage


def test_s3_keys_are_prefixed_by_school_and_presigned_urls_work(world: World, db: None) -> None:
    assert isinstance(default_storage, SchoolS3Storage), "tests run against the moto S3 server"
    with school_context(world.a.schema):
        name = default_storage.save("evidence/note.txt", ContentFile("甲校的文件".encode()))
        link = default_storage.url(name)
    # the link is the application's (which audits the download), then S3's presigned URL
    assert link.startswith("/files/")
    redirected = Client(HTTP_HOST=world.a.host).get(link)
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
    storage = SchoolFileSystemStorage(location=str(tmp_path))
    with school_context(world.a.schema):
        name = storage.save("photos/p.txt", ContentFile(b"photo-bytes"))
        url = storage.url(name)
    connection.set_schema_to_public()
    assert (tmp_path / "schools" / world.a.schema / name).exists()
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
        ok = Client(HTTP_HOST=world.a.host).get(url)
        assert ok.status_code == 200
        assert b"".join(ok.streaming_content) == b"photo-bytes"
        assert Client(HTTP_HOST=world.b.host).get(url).status_code == 404
        assert Client(HTTP_HOST=world.a.host).get(url[:-3] + "xx/").status_code == 404
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
        assert b"".join(own.streaming_content) == b"%PDF-1.4 evidence"
        assert login("localhost", world.other_bureau_user).get(url).status_code == 404
        assert Client(HTTP_HOST="localhost").get(url).status_code == 404
        assert login(world.b.host, "admin").get(url).status_code == 404
    connection.set_schema_to_public()
