"""File storage with every key under its school: schools/<schema>/..., platform/... for
the public schema. S3 (django-storages) in production and tests, the local file system
for `make run` without an endpoint.

Every saved name carries a random part: `save("evidence/7/20261206.png")` stores
`evidence/7/20261206-<22 random characters>.png` (`unguessable_name`, in both storages,
so backups, uploads, evidence and annotated workbooks alike). Callers keep the name
`save()` returns; nothing can be found by guessing a time or an id.

Every download goes through the application: `url()` of both storages is a signed,
expiring `/files/<token>/` link, and `tenants.views.file_download_view` records a
`read.file` audit entry (the requester, which file, which school) before it streams the
file (disk) or redirects to a presigned S3 URL minted at that moment. A presigned URL is
therefore never handed out without an entry in the audit log. The token names the file's
school, the host it was issued on and the account it was issued to (none when made
outside a request, e.g. in a Celery task).

A link is not a bearer token (`download_permitted`): it streams only to a signed-in
user of the host it was issued on, and only to
* the account it was issued to, or
* a user holding the right for that kind of file, by key prefix (`SCHOOL_FILE_RIGHTS`:
  imports/ to 数据导入导出, evidence/ to 维护学籍, a case's proof to 查看学籍) -- which is
  also how a link made without an account (a task) reaches the right people;
* on the bureau host, a school's proof (`BUREAU_FILE_PREFIXES`) only to the officers with
  学籍教育局审核 whose bureau governs that school, whoever the link was made for.
Anything else, backups included, is served to the account it was issued to alone.

Files a job makes for someone to take away (`exports/`: the student list, print batches)
are served as attachments under their readable name (`download_name`), so that a PDF
opens the browser's save dialog with 学籍卡片-三年级.pdf rather than in a tab as
`...-<random>.pdf`; evidence and photos are shown inline."""

from __future__ import annotations

import os
import posixpath
import secrets
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

from accounts.roles import Right
from common.views import content_disposition

SIGNING_SALT = "tenants.storage.download"
NAME_TOKEN_BYTES = 16  # 128 random bits in every saved name: 22 URL-safe characters
_TOKEN_CHARS = len(secrets.token_urlsafe(NAME_TOKEN_BYTES))
ATTACHMENT_PREFIXES = ("exports/",)

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


def unguessable_name(name: str, max_length: int | None = None) -> str:
    """`dir/stem.ext` with a random part added to the stem: `dir/stem-<random>.ext`.
    The stem is shortened (never the random part) to fit `max_length`."""
    directory, file_name = posixpath.split(str(name).replace("\\", "/"))
    stem, ext = posixpath.splitext(file_name)
    token = secrets.token_urlsafe(NAME_TOKEN_BYTES)
    if max_length is not None:
        fixed = len(posixpath.join(directory, f"-{token}{ext}"))
        stem = stem[: max(0, max_length - fixed)]
    return posixpath.join(directory, f"{stem}-{token}{ext}" if stem else f"{token}{ext}")


def download_name(key: str) -> str | None:
    """The name a take-away file is saved as on the user's machine: its base name without
    `unguessable_name`'s random part; None for files that are shown inline."""
    if not key.startswith(ATTACHMENT_PREFIXES):
        return None
    stem, ext = posixpath.splitext(posixpath.basename(key))
    if len(stem) > _TOKEN_CHARS and stem[-_TOKEN_CHARS - 1] == "-":
        stem = stem[: -_TOKEN_CHARS - 1]
    return f"{stem}{ext}"


class UnguessableNames:
    """Storage mixin: every name `save()` picks carries `unguessable_name`'s random part,
    whatever the caller asked for (a time stamp, a batch id)."""

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return super().get_available_name(  # type: ignore[misc,no-any-return]
            unguessable_name(name, max_length), max_length=max_length
        )


class SchoolS3Storage(UnguessableNames, S3Storage):
    """Links go through the application (`download_url`); the presigned GET URL
    (querystring auth, expiry in settings) is made by the download view."""

    @property
    def location(self) -> str:
        return key_prefix()

    @location.setter
    def location(self, value: str) -> None:
        # S3Storage assigns its settings in __init__; the prefix is always derived.
        pass

    def url(
        self, name: str | None, parameters: Any = None, expire: Any = None, http_method: Any = None
    ) -> str:
        return download_url(name)

    def presigned_url(self, name: str) -> str:
        """The S3 URL itself; only the download view calls this, after auditing. A
        take-away file is named by S3's response-content-disposition override."""
        filename = download_name(name)
        parameters = (
            {"ResponseContentDisposition": content_disposition(filename)} if filename else None
        )
        return str(super().url(name, parameters=parameters))


class SchoolFileSystemStorage(UnguessableNames, FileSystemStorage):
    """Local stand-in for S3: files under MEDIA_ROOT/<prefix>, URLs signed and expiring."""

    @property
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


# Besides the account a link was issued to, who may open a school's file on the school's
# own host: the users holding the right of the pages that show such links (any one).
SCHOOL_FILE_RIGHTS: dict[str, tuple[str, ...]] = {
    "imports/": (Right.DATA_MANAGE,),  # uploads, pending rows, annotated workbooks
    "evidence/": (Right.REGISTRY_EDIT,),  # 问题学籍的佐证 (问题学籍 page)
    "changes/": (Right.REGISTRY_VIEW,),  # 学籍异动的佐证 (the change's page)
    "transfers/": (Right.REGISTRY_VIEW,),  # 转学证明 (the case page)
    "intake/": (Right.REGISTRY_VIEW,),  # 新增学籍的说明材料 (the case page)
    # Student photos (the list, the student page, 照片采集): whoever sees the records. A
    # class teacher (查看本班学籍 only) opens the links made for their own account.
    "photos/": (Right.REGISTRY_VIEW, Right.PHOTOS_MANAGE),
}
# A school's files its bureau reviews (佐证), on the bureau host.
BUREAU_FILE_PREFIXES = ("evidence/", "changes/", "transfers/", "intake/")


def _bureau_governs(user: Any, schema: str) -> bool:
    """On the bureau host: an officer with 学籍教育局审核 whose bureau governs the school."""
    from tenants.scope import schools_governed

    if connection.schema_name != "public" or not user.has_right(Right.BUREAU_AUDIT):
        return False
    return bool(schools_governed(user=user).filter(schema_name=schema).exists())


def download_permitted(grant: DownloadGrant, user: Any) -> bool:
    """Whether `user` (signed in on the current host) may open the file `grant` names:
    on the host the link was made on; a school's proof on the bureau host to the officers
    governing it; on the file's own host to the account the link was issued to or to a
    holder of the right for the key's prefix (links made in tasks name no account)."""
    here = str(connection.schema_name)
    if user is None or not user.is_authenticated or grant.host != here:
        return False
    if grant.schema != here:
        return grant.key.startswith(BUREAU_FILE_PREFIXES) and _bureau_governs(user, grant.schema)
    if grant.issued_to and grant.issued_to == user.username:
        return True
    if here == "public":  # the platform's own files (backups): the issued account only
        return False
    rights = next((r for p, r in SCHOOL_FILE_RIGHTS.items() if grant.key.startswith(p)), ())
    return any(user.has_right(right) for right in rights)


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
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)  # type: ignore[union-attr]
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
        client.head_bucket(Bucket=storage.bucket_name)
    except client.exceptions.ClientError:
        client.create_bucket(Bucket=storage.bucket_name)
