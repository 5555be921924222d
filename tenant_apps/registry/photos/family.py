"""The family upload link of 照片采集 (issue 17 point 5; domain §3.13).

The school makes a link per pupil (or for every pupil of a class at once, and on the
学生信息核对表 as a QR code). A parent opens it on a phone without an account, takes or
picks a picture, sees the national file made from it with every warning, and submits it;
the photo then waits for the school's approval on the school's photo page.

The token is `<nonce>:<signature>`: 128 random bits (unguessable) signed with the secret
key under a salt that carries the school's schema name (unforgeable, and a token of one
school fails the signature check on any other school's host before any table is read).
Only the nonce's SHA-256 is stored (FamilyPhotoLink.digest). A link is good until
`expires_at` and for one submission: `used_at` is set under a row lock in the
transaction that files the photo.

Between the preview and the submission nothing is stored: the preview page carries the
normalised JPEG (≤ 60 KB) and a signature over its SHA-256 bound to the link, so the
submission files exactly the bytes the parent saw, and nothing else.

Every step is audited in the school's log under the actor "家长（上传链接）": the link
made (by the school's user, with the count), opened, previewed, submitted, refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_name
from tenant_apps.registry.models import FamilyPhotoLink, SchoolClass, Student, StudentPhoto
from tenant_apps.registry.photos.services import photo_store

# Who makes links: the school's photo staff (照片采集), never class teachers (domain §3.13).
PHOTO_RIGHT = Right.PHOTOS_MANAGE
LINK_DAYS = 14  # a term's paperwork round: long enough for a family, short for a leak
SALT = "registry.photos.family"
PROOF_SALT = "registry.photos.family.preview"
PROOF_SECONDS = 3600  # the preview page may stay open while the family decides
NONCE_BYTES = 16
FAMILY_ACTOR = "家长（上传链接）"

A_MADE = "photo.family.link"
A_OPENED = "photo.family.open"
A_PREVIEWED = "photo.family.preview"
A_SUBMITTED = "photo.family.submit"
A_REFUSED = "photo.family.refused"

MSG_INVALID = "此链接无效。请核对链接是否完整，或联系学校重新获取。"
MSG_EXPIRED = "此链接已过期。请联系学校重新获取上传链接。"
MSG_USED = "此链接已使用过：照片已提交，正在等待学校审核。如需重新提交，请联系学校获取新链接。"
MSG_NO_STUDENT = "没有找到要生成链接的在读学生。"
MSG_PREVIEW_GONE = "预览已失效，请重新选择照片。"


@dataclass(frozen=True)
class OpenLink:
    """What a genuine, unused, unexpired link shows: the masked name and class only."""

    link_id: int
    student_pk: int
    masked_name: str
    class_name: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class IssuedLink:
    """A link just made, for the school's page or the 核对表 (the token is shown once)."""

    student_pk: int
    name: str
    class_name: str
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Preview:
    """The national file made from the family's picture, ready to show and to submit."""

    link: OpenLink
    jpeg: bytes
    warnings: tuple[str, ...]
    proof: str
    codes: tuple[str, ...] = ()

    @property
    def data_url(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii")

    @property
    def encoded(self) -> str:
        return base64.b64encode(self.jpeg).decode("ascii")


def _signer() -> signing.Signer:
    return signing.Signer(salt=f"{SALT}:{connection.schema_name}")


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def _nonce_of(token: str) -> str | None:
    """The nonce of a genuine token of THIS school, or None (forged, cut, other school)."""
    try:
        return _signer().unsign(token.strip())
    except signing.BadSignature:
        return None


def _class_name(student: Student) -> str:
    return str(student.school_class.name)


# -- the school ------------------------------------------------------------------------


def _issue(students: Sequence[Student], *, actor: Actor) -> list[IssuedLink]:
    expires = timezone.now() + dt.timedelta(days=LINK_DAYS)
    signer = _signer()
    issued: list[IssuedLink] = []
    rows: list[FamilyPhotoLink] = []
    for student in students:
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        rows.append(
            FamilyPhotoLink(
                student=student,
                digest=_digest(nonce),
                created_by=actor.username,
                expires_at=expires,
            )
        )
        issued.append(
            IssuedLink(
                student_pk=student.pk,
                name=student.name,
                class_name=_class_name(student),
                token=signer.sign(nonce),
                expires_at=expires,
            )
        )
    FamilyPhotoLink.objects.bulk_create(rows)
    return issued


def _in_school() -> Any:
    return Student.objects.filter(status=Student.Status.STUDYING).exclude(
        audit_state=Student.Audit.DELETED
    )


@transaction.atomic
def family_links_issue(
    *,
    actor: Actor,
    request: Any = None,
    student_ids: Sequence[str] = (),
    class_id: int | None = None,
) -> list[IssuedLink]:
    """New links for the given pupils (by their identifier) or for every pupil in school
    of `class_id`. Earlier links stay good until they expire or are used (a printed
    核对表 in a family's hands must keep working). One audit entry with the count."""
    qs = _in_school().select_related("school_class")
    if class_id is not None:
        qs = qs.filter(school_class_id=class_id)
    else:
        qs = qs.filter(identifier__in=[i for i in student_ids if _is_uuid(i)])
    students = list(qs.order_by("school_class__class_no", "number_in_class", "pk"))
    if not students:
        raise ApplicationError(_(MSG_NO_STUDENT), code="not_found")
    issued = _issue(students, actor=actor)
    one = students[0] if len(students) == 1 and class_id is None else None
    audit_record(
        request=request,
        actor=actor,
        action=A_MADE,
        object_type="student" if one else "class",
        object_id=str(one.identifier) if one else str(class_id or ""),
        object_repr=one.name if one else _class_label(class_id),
        after={"links": len(issued), "days": LINK_DAYS},
    )
    return issued


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def family_links_for_print(*, students: Sequence[Student], actor: Actor) -> dict[int, str]:
    """{student pk: token} for the 学生信息核对表 (its QR codes); the print centre's own
    audit entry covers the document, so none is written here. Runs in the caller's
    transaction when there is one."""
    with transaction.atomic():
        return {link.student_pk: link.token for link in _issue(students, actor=actor)}


def _class_label(class_id: int | None) -> str:
    found = SchoolClass.objects.filter(pk=class_id).first() if class_id else None
    return found.name if found else ""


# -- the family (no account) -----------------------------------------------------------


class LinkRefused(ApplicationError):
    """A dead link (code invalid/expired/used/left); `student` when the link named one."""

    def __init__(self, message: str, *, code: str, student: Student | None = None) -> None:
        super().__init__(message, code=code)
        self.student = student


def _audit_refusal(*, request: Any, exc: LinkRefused) -> None:
    """Recorded after the step's transaction was rolled back, so the entry stays."""
    student = exc.student
    audit_record(
        request=request,
        actor=FAMILY_ACTOR,
        action=A_REFUSED,
        object_type="student" if student else "",
        object_id=str(student.identifier) if student else "",
        object_repr=mask_name(student.name) if student else "",
        after={"reason": exc.code},
        status=410 if exc.code in ("expired", "used") else 404,
    )


def _link(token: str, *, lock: bool = False) -> FamilyPhotoLink:
    nonce = _nonce_of(token)
    if nonce is None:
        raise LinkRefused(_(MSG_INVALID), code="invalid")
    qs = FamilyPhotoLink.objects.select_related("student__school_class")
    if lock:
        qs = qs.select_for_update(of=("self",))
    link = qs.filter(digest=_digest(nonce or "")).first()
    if link is None:
        # Signed by this school but no row: the link was made before a restore, say.
        raise LinkRefused(_(MSG_INVALID), code="invalid")
    student = link.student
    if link.used_at is not None:
        raise LinkRefused(_(MSG_USED), code="used", student=student)
    if link.expires_at <= timezone.now():
        raise LinkRefused(_(MSG_EXPIRED), code="expired", student=student)
    if student.status != Student.Status.STUDYING or student.audit_state == Student.Audit.DELETED:
        raise LinkRefused(_(MSG_INVALID), code="left", student=student)
    return link


def _shown(link: FamilyPhotoLink) -> OpenLink:
    return OpenLink(
        link_id=link.pk,
        student_pk=link.student_id,
        masked_name=mask_name(link.student.name),
        class_name=_class_name(link.student),
        expires_at=link.expires_at,
    )


def _audit_step(*, request: Any, action: str, link: FamilyPhotoLink, after: dict[str, Any]) -> None:
    audit_record(
        request=request,
        actor=FAMILY_ACTOR,
        action=action,
        object_type="student",
        object_id=str(link.student.identifier),
        object_repr=mask_name(link.student.name),
        after={"link": link.pk, **after},
    )


def family_link_open(*, token: str, request: Any = None) -> OpenLink:
    """The page a parent opens: raises ApplicationError (code invalid/expired/used/left,
    with the Chinese message to show) for anything but a live link of this school.
    Audited either way."""
    try:
        with transaction.atomic():
            link = _link(token)
            _audit_step(request=request, action=A_OPENED, link=link, after={})
            return _shown(link)
    except LinkRefused as exc:
        _audit_refusal(request=request, exc=exc)
        raise


def _proof(link: FamilyPhotoLink, result: Any) -> str:
    """The preview's signature: this link, these bytes, and what the normaliser said of
    them (warnings, faces, source), so the submission files exactly what was shown."""
    return signing.dumps(
        {
            "l": link.digest,
            "h": hashlib.sha256(result.jpeg).hexdigest(),
            "w": [[w.code, w.message] for w in result.warnings],
            "q": result.quality,
            "f": result.faces,
            "s": [result.source_format, *result.source_size],
        },
        salt=PROOF_SALT,
    )


def family_photo_preview(*, token: str, data: bytes, request: Any = None) -> Preview:
    """Normalise the family's picture for the preview (nothing stored). Raises
    ApplicationError for a dead link, and the normaliser's PhotoRejected (an
    ApplicationError with its Chinese reason) for a file that is no usable picture."""
    from tenant_apps.registry.photos.normalise import normalise

    try:
        link = _link(token)
    except LinkRefused as exc:
        _audit_refusal(request=request, exc=exc)
        raise
    result = normalise(data)
    warnings = tuple(w.message for w in result.warnings)
    _audit_step(
        request=request,
        action=A_PREVIEWED,
        link=link,
        after={"bytes": len(result.jpeg), "warnings": [w.code for w in result.warnings]},
    )
    return Preview(
        link=_shown(link),
        jpeg=result.jpeg,
        warnings=warnings,
        proof=_proof(link, result),
    )


def _previewed(link: FamilyPhotoLink, *, proof: str, encoded: str) -> Any:
    """The Normalised the preview showed, rebuilt from its signed description."""
    from tenant_apps.registry.photos.normalise import Normalised, PhotoWarning

    try:
        signed = signing.loads(proof, salt=PROOF_SALT, max_age=PROOF_SECONDS)
        jpeg = base64.b64decode(encoded, validate=True)
    except (signing.BadSignature, ValueError) as exc:
        raise ApplicationError(_(MSG_PREVIEW_GONE), code="preview") from exc
    if signed.get("l") != link.digest or signed.get("h") != hashlib.sha256(jpeg).hexdigest():
        raise ApplicationError(_(MSG_PREVIEW_GONE), code="preview")
    fmt, width, height = signed["s"]
    return Normalised(
        jpeg=jpeg,
        quality=int(signed["q"]),
        warnings=tuple(PhotoWarning(str(c), str(m)) for c, m in signed["w"]),
        faces=int(signed["f"]),
        source_format=str(fmt),
        source_size=(int(width), int(height)),
    )


def family_photo_submit(*, token: str, proof: str, encoded: str, request: Any = None) -> OpenLink:
    """File the previewed photo as the pupil's pending photo (the school approves it on
    its photo page) and use up the link, in one transaction: the link's row is locked,
    so of two submissions at once the second finds it used."""
    try:
        with transaction.atomic():
            link = _link(token, lock=True)
            result = _previewed(link, proof=proof, encoded=encoded)
            photo = photo_store(
                student_id=link.student_id,
                result=result,
                actor=Actor(username="", name=FAMILY_ACTOR, schema=str(connection.schema_name)),
                source=StudentPhoto.Source.FAMILY,
                status=StudentPhoto.Status.PENDING,
                request=request,
            )
            link.used_at = timezone.now()
            link.save(update_fields=["used_at"])
            after = {"bytes": len(result.jpeg), "photo": photo.pk}
            _audit_step(request=request, action=A_SUBMITTED, link=link, after=after)
            return _shown(link)
    except LinkRefused as exc:
        _audit_refusal(request=request, exc=exc)
        raise
