"""Writes of student photos (照片采集, domain.md §3.13): stage an upload, accept or discard
it, store a normalised photo directly (bulk import), and put files back (transfer, restore).

Every change is one transaction and one audit entry (accounts.audit). Files are written
before the row that names them; a row that then fails to commit would leave an object
nobody can reach, so every write runs under `files_guard()`, which deletes the objects it
saw saved when the block raises. Objects are never deleted afterwards: a replaced photo's
files stay (history, restores of older backups), a discarded one's too (the audit entry
points at it). Only the school's photo staff (Right.PHOTOS_MANAGE) reach these functions;
the pages and the API check the right, class teachers never hold it (policy.PHOTO_FIELDS).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.models import Student, StudentPhoto

if TYPE_CHECKING:  # normalise loads OpenCV: only the functions that normalise import it
    from tenant_apps.registry.photos.normalise import Normalised, PhotoSpec

logger = logging.getLogger(__name__)

PHOTO_DIR = "photos"
# Extensions of what was uploaded, by Pillow's format name (normalise's source_format).
# Browsers show these as they are; any other format (HEIC from an iPhone, TIFF ...) is
# kept as a JPEG rendering (upright, quality 90), so the side-by-side page shows it.
ORIGINAL_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "MPO": "jpg", "GIF": "gif"}

MSG_NO_STUDENT = "未找到该学生，可能已被删除。"
MSG_NOT_PENDING = "这张照片已经处理过（{status}），请刷新页面。"
MSG_NOT_FOUND = "未找到这张照片，请刷新页面。"
MSG_LEFT = "该学生已不在本校在读，不能再采集照片。"

# Keys saved inside the innermost files_guard() block (None outside one).
_saved: ContextVar[list[tuple[str, str]] | None] = ContextVar("photo_files_saved", default=None)


@contextmanager
def files_guard() -> Iterator[list[tuple[str, str]]]:
    """Delete every photo object saved inside the block (by `file_save`) if it raises, so
    a failed write leaves no file behind. Yields the (schema, key) pairs saved so far.
    Nested blocks hand their keys to the enclosing one on success."""
    outer = _saved.get()
    mine: list[tuple[str, str]] = []
    token = _saved.set(mine)
    try:
        yield mine
    except BaseException:
        files_delete(mine)
        raise
    finally:
        _saved.reset(token)
    if outer is not None:
        outer.extend(mine)


def files_delete(saved: list[tuple[str, str]]) -> None:
    """Remove objects written by a write that did not happen (best effort per object)."""
    from tenants.context import school_context

    for schema, key in saved:
        try:
            with school_context(schema):
                default_storage.delete(key)
        except Exception:  # one stuck object must not hide the error that caused the undo
            logger.exception("photo object %s/%s left behind after a failed write", schema, key)


def file_save(stem: str, data: bytes, *, exact: bool = False) -> str:
    """Store `data` in the active school's storage under `stem` (a key inside the school's
    prefix); the storage adds the unguessable part. `exact=True` writes at exactly that key
    (a copy for another school or a restore: the row naming it is copied unchanged)."""
    if exact:
        key = default_storage._save(stem, ContentFile(data))  # type: ignore[attr-defined]
    else:
        key = default_storage.save(stem, ContentFile(data))
    saved = _saved.get()
    if saved is not None:
        saved.append((str(connection.schema_name), str(key)))
    return str(key)


def _audit(
    *,
    request: Any,
    actor: Actor,
    photo: StudentPhoto,
    student: Student,
    what: str,
    before: dict[str, Any] | None = None,
) -> None:
    audit_record(
        request=request,
        actor=actor.username,
        action=WRITE,
        object_type="student",
        object_id=student.identifier,
        object_repr=student.name,
        before=before,
        after={
            "照片": what,
            "来源": photo.get_source_display(),
            "状态": photo.get_status_display(),
            "提示": photo.warning_messages,
            "文件大小": photo.bytes,
        },
    )


def _student(student_id: int) -> Student:
    student = Student.objects.select_for_update().filter(pk=student_id).first()
    if student is None:
        raise ApplicationError(MSG_NO_STUDENT, code="not_found")
    return student


def _stored(
    student: Student,
    result: Normalised,
    *,
    source: str,
    status: str,
    actor: Actor,
    original: bytes | None,
    original_name: str,
) -> StudentPhoto:
    month = f"{PHOTO_DIR}/{timezone.now():%Y%m}"
    key = file_save(f"{month}/photo.jpg", result.jpeg)
    original_key = ""
    if original is not None:
        ext = ORIGINAL_EXTENSIONS.get(result.source_format.upper())
        if ext is None:
            original, ext = _shown(original), "jpg"
        original_key = file_save(f"{month}/original.{ext}", original)
    now = timezone.now()
    if status == StudentPhoto.Status.CURRENT:
        StudentPhoto.objects.filter(student=student, status=StudentPhoto.Status.CURRENT).update(
            status=StudentPhoto.Status.REPLACED, replaced_at=now
        )
    width, height = result.source_size
    return StudentPhoto.objects.create(
        student=student,
        status=status,
        source=source,
        file_key=key,
        original_key=original_key,
        warnings=[{"code": w.code, "message": w.message} for w in result.warnings],
        quality=result.quality,
        bytes=len(result.jpeg),
        faces=result.faces,
        source_format=result.source_format[:10],
        source_width=width,
        source_height=height,
        original_name=posixpath.basename(original_name.replace("\\", "/"))[:200],
        created_by=actor.username[:150],
        created_by_label=actor.label[:200],
        decided_by=actor.username[:150] if status == StudentPhoto.Status.CURRENT else "",
        decided_at=now if status == StudentPhoto.Status.CURRENT else None,
    )


def _shown(data: bytes) -> bytes:
    """A JPEG rendering of an upload browsers cannot show (HEIC): upright, no metadata.
    Only called after normalise() read the same bytes (pillow-heif is registered)."""
    import io

    from PIL import Image, ImageOps

    from tenant_apps.registry.photos import normalise as _registers_heif  # noqa: F401

    with Image.open(io.BytesIO(data)) as img:
        upright = ImageOps.exif_transpose(img).convert("RGB")
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=90)
    return out.getvalue()


def photo_stage(
    *,
    student_id: int,
    data: bytes,
    name: str,
    actor: Actor,
    source: str = StudentPhoto.Source.UPLOAD,
    request: Any = None,
    spec: PhotoSpec | None = None,
) -> StudentPhoto:
    """Normalise an upload and keep it, with the original, as a PENDING photo for the
    side-by-side decision (使用此照片 / 放弃). Raises PhotoRejected (its Chinese message)
    only for bytes no photo can be made of; warnings never refuse."""
    from tenant_apps.registry.photos.normalise import PhotoSpec, normalise

    result = normalise(data, spec=spec or PhotoSpec.from_settings())
    with files_guard(), transaction.atomic():
        student = _student(student_id)
        if student.status != "01":
            raise ApplicationError(MSG_LEFT, code="invalid")
        photo = _stored(
            student,
            result,
            source=source,
            status=StudentPhoto.Status.PENDING,
            actor=actor,
            original=data,
            original_name=name,
        )
        _audit(request=request, actor=actor, photo=photo, student=student, what="上传待确认")
    return photo


def photo_store(
    *,
    student_id: int,
    result: Normalised,
    actor: Actor,
    source: str,
    status: str = StudentPhoto.Status.CURRENT,
    original: bytes | None = None,
    original_name: str = "",
    request: Any = None,
) -> StudentPhoto:
    """Store an already normalised photo (bulk import, family upload) as CURRENT (the
    previous current one becomes REPLACED) or PENDING. Runs in the caller's transaction
    when there is one: wrap a batch in `files_guard()` + `transaction.atomic()` so that a
    failure leaves neither rows nor files."""
    if status not in (StudentPhoto.Status.CURRENT, StudentPhoto.Status.PENDING):
        raise ValueError(status)
    with files_guard(), transaction.atomic():
        student = _student(student_id)
        photo = _stored(
            student,
            result,
            source=source,
            status=status,
            actor=actor,
            original=original,
            original_name=original_name,
        )
        what = "已采用" if status == StudentPhoto.Status.CURRENT else "上传待确认"
        _audit(request=request, actor=actor, photo=photo, student=student, what=what)
    return photo


def _pending(photo_id: int, student_id: int | None) -> StudentPhoto:
    query = StudentPhoto.objects.select_for_update().select_related("student")
    if student_id is not None:
        query = query.filter(student_id=student_id)
    photo = query.filter(pk=photo_id).first()
    if photo is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if photo.status != StudentPhoto.Status.PENDING:
        raise ApplicationError(
            MSG_NOT_PENDING.format(status=photo.get_status_display()), code="conflict"
        )
    return photo


@transaction.atomic
def photo_accept(
    *, photo_id: int, actor: Actor, student_id: int | None = None, request: Any = None
) -> StudentPhoto:
    """使用此照片 / 审核通过: a PENDING photo becomes the student's CURRENT one; the one it
    replaces becomes REPLACED (its files kept)."""
    photo = _pending(photo_id, student_id)
    student = _student(photo.student_id)
    now = timezone.now()
    replaced = StudentPhoto.objects.filter(
        student=student, status=StudentPhoto.Status.CURRENT
    ).update(status=StudentPhoto.Status.REPLACED, replaced_at=now)
    photo.status = StudentPhoto.Status.CURRENT
    photo.decided_by = actor.username[:150]
    photo.decided_at = now
    photo.save(update_fields=["status", "decided_by", "decided_at"])
    _audit(
        request=request,
        actor=actor,
        photo=photo,
        student=student,
        what="替换原照片" if replaced else "已采用",
        before={"照片": "有" if replaced else "无"},
    )
    return photo


@transaction.atomic
def photo_discard(
    *, photo_id: int, actor: Actor, student_id: int | None = None, request: Any = None
) -> StudentPhoto:
    """放弃 / 审核不通过: a PENDING photo becomes REJECTED; the current one stays."""
    photo = _pending(photo_id, student_id)
    photo.status = StudentPhoto.Status.REJECTED
    photo.decided_by = actor.username[:150]
    photo.decided_at = timezone.now()
    photo.save(update_fields=["status", "decided_by", "decided_at"])
    _audit(request=request, actor=actor, photo=photo, student=photo.student, what="已放弃")
    return photo


def photo_files_copy(*, keys: list[str], from_schema: str) -> None:
    """Copy photo objects from another school's storage into the active school's at the
    same key (a transfer: the copied rows keep their keys). Inside `files_guard()` the
    copies are removed again when the transfer fails."""
    from tenants.context import school_context

    here = str(connection.schema_name)
    for key in keys:
        # Already there: the person comes back to a school that made the photo itself.
        if not key or default_storage.exists(key):
            continue
        with school_context(from_schema), default_storage.open(key, "rb") as f:
            data = f.read()
        with school_context(here):
            file_save(key, data, exact=True)
