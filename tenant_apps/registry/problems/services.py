"""问题学籍处理: delete with a reason, correct with proof, or upload evidence for the
bureau. A resolved 问题学籍 draft goes back to the audit as a draft; a registered record
keeps its state (and, for a national-check problem, waits for the next national check)."""

from __future__ import annotations

import io
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.student_index.services import index_remove, index_set_state
from tenant_apps.registry.models import Evidence, ProblemRecord, Student
from tenant_apps.registry.models.problems import NATIONAL_KINDS
from tenant_apps.registry.students.services import current_school, event_add, student_update

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MSG_EVIDENCE_TYPE = "佐证材料只接受 JPG、PNG 图片或 PDF 文件。"
MSG_EVIDENCE_SIZE = "佐证材料不能超过10MB。"
MSG_EVIDENCE_FAKE = "文件内容与扩展名不符或已损坏，请重新扫描或拍照后上传。"
# A photo of a document needs a few megapixels; a 10 MB PNG can declare billions (a
# decompression bomb: whoever opens it, a browser or the bureau's viewer, decodes them all).
MAX_EVIDENCE_PIXELS = 40_000_000
MSG_EVIDENCE_PIXELS = (
    "图片“{name}”像素过多，超过{limit}万像素的上限，请缩小图片尺寸或降低拍照分辨率后重新上传。"
)
MSG_EVIDENCE_BOMB = "图片“{name}”中的附加数据解压后过大，疑似恶意文件，已拒绝。"
MSG_PROBLEM_STATE = "该问题学籍当前状态为“{state}”，不能执行此操作。"


def _open_problem(problem_id: int, states: set[str] | None = None) -> ProblemRecord:
    problem = (
        ProblemRecord.objects.select_for_update()
        .select_related("student")
        .filter(pk=problem_id)
        .first()
    )
    if problem is None:
        raise ApplicationError("未找到该问题学籍。", code="not_found")
    allowed = states or {ProblemRecord.State.OPEN}
    if problem.state not in allowed:
        raise ApplicationError(
            MSG_PROBLEM_STATE.format(state=problem.get_state_display()), code="state"
        )
    return problem


def _resolve(problem: ProblemRecord, *, actor: Actor, resolution: str, reason: str = "") -> None:
    """Close the problem; when none is left open, a 问题学籍 draft goes back to the audit
    as a draft, while a record further on (registered, or in the audit, flagged by the
    nightly 查重 or the national check) keeps its state and only loses the flag. A
    national-check problem sends the record back to the next national check."""
    problem.state = ProblemRecord.State.RESOLVED
    problem.resolution, problem.reason = resolution, reason
    problem.resolved_at = timezone.now()
    problem.save()
    student = problem.student
    if problem.kind in NATIONAL_KINDS:
        Student.objects.filter(pk=student.pk).update(national_check=Student.NationalCheck.PENDING)
    if student.problems.filter(
        state__in=[ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING]
    ).exists():
        return
    if student.audit_state != Student.Audit.PROBLEM:
        event_add(
            [student.pk], actor=actor, action=f"问题学籍已解决（{resolution}）", reason=reason
        )
        index_set_state(student_uuids=[student.identifier], has_problem=False)
        return
    Student.objects.filter(pk=student.pk).update(audit_state=Student.Audit.DRAFT)
    event_add(
        [student.pk],
        actor=actor,
        action=f"问题学籍已解决（{resolution}）",
        from_state=Student.Audit.PROBLEM,
        to_state=Student.Audit.DRAFT,
        reason=reason,
    )
    index_set_state(
        student_uuids=[student.identifier], audit_state=Student.Audit.DRAFT, has_problem=False
    )


@transaction.atomic(durable=True)
def problem_delete(*, problem_id: int, reason: str, actor: Actor) -> None:
    """删除: the school removes its own record; the row stays visible as deleted."""
    if not reason.strip():
        raise ApplicationError(
            "删除时请填写原因。", code="invalid", extra={"reason": ["请填写删除原因。"]}
        )
    problem = _open_problem(problem_id)
    student = problem.student
    problem.state, problem.resolution, problem.reason = ProblemRecord.State.DELETED, "删除", reason
    problem.resolved_at = timezone.now()
    problem.save()
    Student.objects.filter(pk=student.pk).update(
        audit_state=Student.Audit.DELETED, deleted_reason=reason.strip()[:200]
    )
    event_add(
        [student.pk],
        actor=actor,
        action="删除",
        from_state=student.audit_state,
        to_state=Student.Audit.DELETED,
        reason=reason.strip(),
    )
    index_remove(student_uuids=[student.identifier])


MSG_PROOF_MISSING = "变更须上传证明材料（户口簿本人页或身份证件复印件，JPG、PNG 或 PDF）。"


def problem_correct(
    *,
    problem_id: int,
    raw: dict[str, Any],
    actor: Actor,
    proof_name: str = "",
    proof_data: bytes = b"",
    note: str = "",
) -> None:
    """变更: correct the data with proof (户口簿, ID copy: domain §3.4); if the re-check
    finds no match any more, it is resolved and the proof kept on the problem record.
    Without a proof, or with one that is not an image or PDF, nothing is changed."""
    if not proof_data:
        raise ApplicationError(
            MSG_PROOF_MISSING, code="invalid", extra={"file": [MSG_PROOF_MISSING]}
        )
    content_type = evidence_check(name=proof_name, data=proof_data)
    with transaction.atomic(durable=True):
        problem = _open_problem(problem_id)
        student_id = problem.student_id
    student = student_update(student_id=student_id, raw=raw, actor=actor)
    with transaction.atomic(durable=True):
        from shared_apps.student_index.services import duplicates_find
        from tenant_apps.registry.students.services import keys_of

        problem = _open_problem(problem_id)
        hits = duplicates_find(
            [
                keys_of(
                    {
                        "name": student.name,
                        "sex": student.sex,
                        "birth_date": student.birth_date,
                        "id_number": student.id_number,
                        "id_type": getattr(student, "id_type", "1"),
                    }
                )
            ],
            exclude=[student.identifier],
        )
        if hits:
            raise ApplicationError(
                "修改后仍与其他学籍疑似重复，请上传佐证或联系对方学校。", code="still_duplicate"
            )
        key = evidence_save(
            f"evidence/{problem.pk}/change-{timezone.now():%Y%m%d%H%M%S}",
            proof_data,
            content_type,
        )
        Evidence.objects.create(
            problem=problem,
            purpose=Evidence.Purpose.CHANGE_PROOF,
            file_key=key,
            original_name=proof_name[:200],
            content_type=content_type,
            size=len(proof_data),
            note=note.strip()[:300],
            uploaded_by=actor.label,
        )
        _resolve(problem, actor=actor, resolution="变更", reason=note.strip()[:300])


def evidence_check(*, name: str, data: bytes) -> str:
    """The content type of an acceptable evidence file, or a clear refusal."""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise ApplicationError(
            MSG_EVIDENCE_SIZE, code="upload", extra={"file": [MSG_EVIDENCE_SIZE]}
        )
    lower = name.lower()
    if lower.endswith(".pdf"):
        if not data.startswith(b"%PDF-"):
            raise ApplicationError(
                MSG_EVIDENCE_FAKE, code="upload", extra={"file": [MSG_EVIDENCE_FAKE]}
            )
        return "application/pdf"
    if lower.endswith((".jpg", ".jpeg", ".png")):
        import warnings

        from PIL import Image, UnidentifiedImageError

        def refused(template: str) -> ApplicationError:
            message = template.format(name=name, limit=MAX_EVIDENCE_PIXELS // 10_000)
            return ApplicationError(message, code="upload", extra={"file": [message]})

        # Pillow's own guard at our limit: Image.open refuses twice the limit outright and
        # warns from the limit on; the warning is made an error so nothing above it is
        # decoded. Only the header is read before the size is known.
        # Pillow's limit is a process-wide global: set for this check only, then put back,
        # so that other image code (photos.normalise, with its own limit) is not judged by it.
        default_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, MAX_EVIDENCE_PIXELS
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    width, height = image.size
                    if width * height > MAX_EVIDENCE_PIXELS:
                        raise refused(MSG_EVIDENCE_PIXELS)
                    image.verify()
                    fmt = image.format
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise refused(MSG_EVIDENCE_PIXELS) from exc
        except ValueError as exc:
            # PngImagePlugin refuses a text chunk that would inflate past MAX_TEXT_CHUNK.
            bomb = "Decompressed" in str(exc)
            raise refused(MSG_EVIDENCE_BOMB if bomb else MSG_EVIDENCE_FAKE) from exc
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise ApplicationError(
                MSG_EVIDENCE_FAKE, code="upload", extra={"file": [MSG_EVIDENCE_FAKE]}
            ) from exc
        finally:
            Image.MAX_IMAGE_PIXELS = default_limit
        if fmt not in {"JPEG", "PNG"}:
            raise ApplicationError(
                MSG_EVIDENCE_FAKE, code="upload", extra={"file": [MSG_EVIDENCE_FAKE]}
            )
        return "image/jpeg" if fmt == "JPEG" else "image/png"
    raise ApplicationError(MSG_EVIDENCE_TYPE, code="upload", extra={"file": [MSG_EVIDENCE_TYPE]})


EVIDENCE_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def evidence_save(stem: str, data: bytes, content_type: str) -> str:
    """Store a checked proof under `stem` (a key inside the school's prefix, without
    extension); the extension follows the sniffed content, never the uploaded name.
    Shared by problem records, status changes, outside in-transfers and intake."""
    return default_storage.save(f"{stem}.{EVIDENCE_EXTENSIONS[content_type]}", ContentFile(data))


@transaction.atomic(durable=True)
def problem_evidence_upload(
    *, problem_id: int, name: str, data: bytes, note: str, actor: Actor
) -> Evidence:
    """佐证: the data is right; the proof goes to the bureau for a decision (queued by
    the bureau's handler in facade.hooks, inside this transaction)."""
    from tenant_apps.registry.facade.hooks import evidence_submitted

    content_type = evidence_check(name=name, data=data)
    problem = _open_problem(problem_id)
    key = evidence_save(f"evidence/{problem.pk}/{timezone.now():%Y%m%d%H%M%S}", data, content_type)
    evidence = Evidence.objects.create(
        problem=problem,
        file_key=key,
        original_name=name[:200],
        content_type=content_type,
        size=len(data),
        note=note.strip()[:300],
        uploaded_by=actor.label,
    )
    problem.state = ProblemRecord.State.EVIDENCE_PENDING
    problem.save(update_fields=["state"])
    event_add([problem.student_id], actor=actor, action="上传佐证", reason=note.strip())
    evidence_submitted(
        school_id=current_school().id,
        problem_id=problem.pk,
        evidence_id=evidence.pk,
        student_uuid=problem.student.identifier,
        other_uuids=_other_uuids(problem),
    )
    return evidence


def _other_uuids(problem: ProblemRecord) -> list[uuid.UUID]:
    """The records a duplicate or suspected problem matched (its masked summaries carry
    their uuids): the bureau opens a joint case when one is in another county."""
    if problem.kind not in (ProblemRecord.Kind.DUPLICATE, ProblemRecord.Kind.SUSPECTED):
        return []
    found = []
    for other in problem.others or []:
        try:
            found.append(uuid.UUID(str(other.get("student_uuid", ""))))
        except (ValueError, AttributeError):
            continue
    return found


@transaction.atomic
def evidence_decide(
    *, problem_id: int, evidence_id: int, accept: bool, reason: str, actor: Actor
) -> None:
    """Bureau decision, run inside the school's schema by bureau.services."""
    problem = _open_problem(problem_id, {ProblemRecord.State.EVIDENCE_PENDING})
    evidence = Evidence.objects.select_for_update().get(pk=evidence_id, problem=problem)
    evidence.decision = Evidence.Decision.ACCEPTED if accept else Evidence.Decision.REJECTED
    evidence.decided_by, evidence.decision_reason = actor.label, reason.strip()[:300]
    evidence.decided_at = timezone.now()
    evidence.save()
    if accept:
        _resolve(problem, actor=actor, resolution="佐证", reason=reason.strip())
    else:
        problem.state = ProblemRecord.State.OPEN
        problem.save(update_fields=["state"])
        event_add([problem.student_id], actor=actor, action="佐证未通过", reason=reason.strip())


@transaction.atomic(durable=True)
def problems_flag(*, items: list[dict[str, Any]]) -> int:
    """The nightly recheck's flags for this school (problems_open), in one transaction."""
    return problems_open(items=items, action="夜间查重发现问题")


def problems_open(*, items: list[dict[str, Any]], action: str) -> int:
    """Open a 问题学籍 for each listed record of this school that has none open yet, in
    the caller's transaction.

    Drafts move to the problem queue; records already further in the audit keep their
    state but carry the open problem (and the index flag) until it is handled. An item
    with a "rule" (keys.Rule) shows it on each other record, as 查重 at entry does; the
    history entry says `action` (the nightly recheck's, or the import's near check).
    """
    import uuid

    from shared_apps.student_index.services import Hit
    from tenant_apps.registry.students.services import masked_for_hits

    actor = Actor(username="system", name="系统查重", schema="")
    created = 0
    for item in items:
        student = Student.objects.filter(identifier=item["student_uuid"]).first()
        if student is None or student.audit_state == Student.Audit.DELETED:
            continue
        if student.problems.filter(
            state__in=[ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING]
        ).exists():
            continue
        hits = [
            Hit(0, item["kind"], "id", int(sid), uuid.UUID(str(u))) for sid, u in item["others"]
        ]
        rule = {"rule": item["rule"]} if item.get("rule") else {}
        others = [o | rule for o in masked_for_hits(hits).values()]
        ProblemRecord.objects.create(student=student, kind=item["kind"], others=others)
        if student.audit_state == Student.Audit.DRAFT:
            Student.objects.filter(pk=student.pk).update(audit_state=Student.Audit.PROBLEM)
        event_add(
            [student.pk],
            actor=actor,
            action=action,
            reason=ProblemRecord.Kind(item["kind"]).label,
        )
        index_set_state(
            student_uuids=[student.identifier],
            has_problem=True,
            **(
                {"audit_state": Student.Audit.PROBLEM}
                if student.audit_state == Student.Audit.DRAFT
                else {}
            ),
        )
        created += 1
    return created
