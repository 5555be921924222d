"""File storage with every key under its school: schools/<schema>/..., platform/... for
the public schema. S3 (django-storages) in production and tests, the local file system
for `make run` without an endpoint.

Every download goes through the application: `url()` of both storages is a signed,
expiring `/files/<token>/` link, and `tenants.views.file_download_view` records a
`read.file` audit entry (who, which file, which school) before it streams the file (disk)
or redirects to a presigned S3 URL minted at that moment. A presigned URL is therefore
never handed out without an entry in the audit log. The token names the file's school,
the host it was issued on and the account it was issued to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage, Storage
from django.db import connection
from django.http import HttpRequest
from django.urls import reverse
from storages.backends.s3 import S3Storage

SIGNING_SALT = "tenants.storage.download"

# The request being served, so that a link made anywhere below a view (services, facades
# reading inside another school) knows its host and account; bound by
# accounts.middleware.DownloadIssuerMiddleware. The user is read when the link is made,
# after DRF's token authentication has set it.
_current_request: ContextVar[HttpRequest | None] = ContextVar("download_request", default=None)


@contextmanager
def download_request_bind(request: HttpRequest) -> Iterator[None]:
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def _issuer() -> tuple[str, str]:
    """(host schema, username) of the request making a link; the active schema and no
    user outside requests (tasks, commands)."""
    request = _current_request.get()
    if request is None:
        return str(connection.schema_name), ""
    tenant = getattr(request, "tenant", None)
    host = str(getattr(tenant, "schema_name", "") or connection.schema_name)
    user = getattr(request, "user", None)
    username = str(user.username) if user is not None and user.is_authenticated else ""
    return host, username


def key_prefix(schema_name: str | None = None) -> str:
    schema = schema_name or connection.schema_name
    return "platform" if schema == "public" else f"schools/{schema}"


def download_url(name: str | None) -> str:
    """A signed `/files/<token>/` link to `name` in the active schema's storage."""
    host, username = _issuer()
    payload = {"s": connection.schema_name, "k": name, "h": host, "u": username}
    token = signing.dumps(payload, salt=SIGNING_SALT)
    return reverse("file-download", kwargs={"token": token})


class SchoolS3Storage(S3Storage):
    """Links go through the application (`download_url`); the presigned GET URL
    (querystring auth, expiry in settings) is made by the download view."""

    @property  # type: ignore[override]
    def location(self) -> str:
        return key_prefix()

    @location.setter
    def location(self, value: str) -> None:
        # S3Storage assigns its settings in __init__; the prefix is always derived.
        pass

    def url(
        self, name: str | None, parameters: Any = None, expire: Any = None, http_method: Any = None
    ) -> str:  # type: ignore[override]
        return download_url(name)

    def presigned_url(self, name: str) -> str:
        """The S3 URL itself; only the download view calls this, after auditing."""
        return str(super().url(name))


class SchoolFileSystemStorage(FileSystemStorage):
    """Local stand-in for S3: files under MEDIA_ROOT/<prefix>, URLs signed and expiring."""

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(os.path.join(self.base_location, key_prefix()))

    def url(self, name: str | None, **kwargs: Any) -> str:
        return download_url(name)


@dataclass(frozen=True)
class DownloadGrant:
    schema: str  # the school whose storage holds the file
    key: str
    host: str  # the schema of the host the link was made on
    issued_to: str  # the account the link was made for ("" outside requests)


def download_grant(token: str) -> DownloadGrant | None:
    """What a genuine, unexpired token grants; None if forged or expired."""
    try:
        data = signing.loads(token, salt=SIGNING_SALT, max_age=settings.PRESIGNED_URL_SECONDS)
    except signing.BadSignature:
        return None
    schema = str(data.get("s"))
    return DownloadGrant(
        schema=schema,
        key=str(data.get("k")),
        host=str(data.get("h") or schema),
        issued_to=str(data.get("u") or ""),
    )


def download_token_payload(token: str) -> tuple[str, str] | None:
    """(schema, key) of a genuine, unexpired token; None if forged or expired."""
    grant = download_grant(token)
    return None if grant is None else (grant.schema, grant.key)


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
