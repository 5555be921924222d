"""File storage with every key under its school: schools/<schema>/..., platform/... for
the public schema. S3 (django-storages) in production and tests, the local file system
for `make run` without an endpoint. Both hand out short-lived download URLs."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage, Storage
from django.db import connection
from django.urls import reverse
from storages.backends.s3 import S3Storage

SIGNING_SALT = "tenants.storage.download"


def key_prefix(schema_name: str | None = None) -> str:
    schema = schema_name or connection.schema_name
    return "platform" if schema == "public" else f"schools/{schema}"


class SchoolS3Storage(S3Storage):
    """Presigned GET URLs come from django-storages (querystring auth, expiry in settings)."""

    @property  # type: ignore[override]
    def location(self) -> str:
        return key_prefix()

    @location.setter
    def location(self, value: str) -> None:
        # S3Storage assigns its settings in __init__; the prefix is always derived.
        pass


class SchoolFileSystemStorage(FileSystemStorage):
    """Local stand-in for S3: files under MEDIA_ROOT/<prefix>, URLs signed and expiring."""

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(os.path.join(self.base_location, key_prefix()))

    def url(self, name: str | None, **kwargs: Any) -> str:
        token = signing.dumps({"s": connection.schema_name, "k": name}, salt=SIGNING_SALT)
        return reverse("file-download", kwargs={"token": token})


def download_token_payload(token: str) -> tuple[str, str] | None:
    """(schema, key) of a genuine, unexpired token; None if forged or expired."""
    try:
        data = signing.loads(token, salt=SIGNING_SALT, max_age=settings.PRESIGNED_URL_SECONDS)
    except signing.BadSignature:
        return None
    return str(data.get("s")), str(data.get("k"))


def download_token_read(token: str) -> str | None:
    """The key a token grants on this host, or None if forged, expired or foreign."""
    payload = download_token_payload(token)
    if payload is None or payload[0] != connection.schema_name:
        return None
    return payload[1]


def storage_ping(storage: Storage) -> None:
    """Raise if the storage cannot be reached (readiness probe)."""
    if isinstance(storage, S3Storage) or hasattr(storage, "bucket"):
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)  # type: ignore[attr-defined]
        return
    base = getattr(storage, "base_location", settings.MEDIA_ROOT)
    os.makedirs(base, exist_ok=True)
    if not os.access(base, os.W_OK):
        raise PermissionError(base)


def storage_ensure_bucket(storage: Storage) -> None:
    """Create the bucket when it is missing (local SeaweedFS, moto); no-op on disk."""
    if not hasattr(storage, "bucket_name"):
        return
    client = storage.connection.meta.client  # type: ignore[attr-defined]
    try:
        client.head_bucket(Bucket=storage.bucket_name)  # type: ignore[attr-defined]
    except client.exceptions.ClientError:
        client.create_bucket(Bucket=storage.bucket_name)  # type: ignore[attr-defined]
