"""Import with dry run: upload → validate every row → 查重 → report → confirm → write.

Nothing reaches the students table before the user confirms. The upload itself is
refused before anything is stored when it is oversized, corrupt, encrypted or disguised.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.student_index.keys import IdentityKeys
from shared_apps.student_index.services import duplicates_find, index_upsert
from tenant_apps.registry.fields import BY_KEY, COLUMNS
from tenant_apps.registry.models import FamilyMember, ImportBatch, ProblemRecord, Student
from tenant_apps.registry.services import (
    _apply,
    _members,
    class_map,
    current_school,
    event_add,
    index_record,
    keys_of,
    masked_for_hits,
    temporary_numbers,
)

Progress = Callable[[int, str], None]
MSG_NOT_READY = "该批次当前状态为“{state}”，不能确认导入。"
MSG_ALL_OR_NOTHING = "有 {n} 行不能导入；选择“全部正确才导入”时，请先改正后重新上传。"
MSG_DUP_IN_FILE = "身份证件号与本文件第 {other} 行重复。"
MSG_DUP_OTHER = "身份证件号与已有学籍重复：{school} {name} {id}（{status}）。"
MSG_SAME_SCHOOL = "本校已有该学生（{name}，{id}），不能重复导入。"
DATE_KEYS = {c.key for c in COLUMNS if c.kind == "date8"}
DECIMAL_KEYS = {c.key for c in COLUMNS if c.kind == "decimal"}


def _encode(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, dt.date) else str(v) if isinstance(v, Decimal) else v)
        for k, v in data.items()
    }


def _decode(data: dict[str, Any]) -> dict[str, Any]:
    for k in DATE_KEYS & data.keys():
        if data[k]:
            data[k] = dt.date.fromisoformat(data[k])
    for k in DECIMAL_KEYS & data.keys():
        if data[k] is not None:
            data[k] = Decimal(data[k])
    return data


# -- start --------------------------------------------------------------------------


@transaction.atomic(durable=True)
def import_start(*, filename: str, data: bytes, actor: Actor, owner_id: int) -> ImportBatch:
    """Check the upload, store it, and queue the dry run; refusals leave no trace."""
    from shared_apps.jobs.services import job_create
    from tenant_apps.registry.tasks import import_validate_task
    from tenant_apps.registry.workbooks import UploadRejected, upload_sniff

    try:
        fmt = upload_sniff(name=filename, data=data)
    except UploadRejected as exc:
        raise ApplicationError(exc.message, code="upload", extra={"file": [exc.message]}) from exc
    batch = ImportBatch(id=uuid.uuid4(), filename=filename[:200], fmt=fmt, created_by=actor.label)
    batch.file_key = default_storage.save(f"imports/{batch.id}/upload.{fmt}", ContentFile(data))
    job = job_create(owner_id=owner_id, kind="student_import", title=f"导入学生：{filename[:60]}")
    batch.job_id = job.pk
    batch.save()
    batch_id, job_id = str(batch.id), str(job.pk)
    transaction.on_commit(lambda: import_validate_task.delay(batch_id, job_id))
    return batch


# -- dry run ------------------------------------------------------------------------


def import_validate(*, batch_id: str, progress: Progress | None = None) -> ImportBatch:
    """Parse, validate every row, 查重 the valid ones set-based, and write the report,
    the annotated workbook and the pending rows. Students are not touched."""
    from tenant_apps.registry.validation import RowValidator
    from tenant_apps.registry.workbooks import UploadRejected, workbook_annotate, workbook_read

    report = progress or (lambda percent, message: None)
    batch = ImportBatch.objects.get(pk=batch_id)
    with default_storage.open(batch.file_key, "rb") as f:
        raw_bytes = f.read()
    try:
        _headers, rows = workbook_read(data=raw_bytes, fmt=batch.fmt)
        rows = list(rows)
    except UploadRejected as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=ImportBatch.State.FAILED, counts={"message": exc.message}
        )
        raise ApplicationError(exc.message, code="upload") from exc
    report(10, f"已读取 {len(rows)} 行，正在校验……")

    validator = RowValidator(class_nos=set(class_map()))
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    for n, (row_no, raw) in enumerate(rows, 1):
        result = validator.validate(raw)
        if result.errors:
            errors.extend(
                {
                    "row": row_no,
                    "key": e.key,
                    "header": e.header,
                    "value": e.value,
                    "message": e.message,
                    "kind": e.kind,
                }
                for e in result.errors
            )
        else:
            valid.append((row_no, result.data))
        if n % 5000 == 0:
            report(10 + 60 * n // max(len(rows), 1), f"已校验 {n} / {len(rows)} 行")
    report(70, "正在查重……")
    keys: list[IdentityKeys] = [keys_of(d) for _, d in valid]
    blocked: dict[int, str] = {}
    duplicates: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    for (row_no, _), k in zip(valid, keys, strict=True):
        if k.id_hash in first_row_of:
            blocked[row_no] = MSG_DUP_IN_FILE.format(other=first_row_of[k.id_hash])
        elif k.id_hash:
            first_row_of[k.id_hash] = row_no
    hits = duplicates_find(keys)
    summaries = masked_for_hits(hits)
    school_id = current_school().id
    suspected_rows: dict[int, list[dict[str, str]]] = {}
    for h in hits:
        row_no, data = valid[h.position]
        other = summaries.get(h.student_uuid)
        if other is None:
            continue
        same_school_twin = (
            h.school_id == school_id and h.rule == "name_sex_birth" and not keys[h.position].id_hash
        )
        if h.kind == "duplicate" or same_school_twin:
            blocked.setdefault(
                row_no,
                (
                    MSG_SAME_SCHOOL.format(name=other["name"], id=other["id_number"])
                    if h.school_id == school_id
                    else MSG_DUP_OTHER.format(
                        school=other["school_name"],
                        name=other["name"],
                        id=other["id_number"],
                        status=other["status"],
                    )
                ),
            )
            duplicates.append({"row": row_no, "kind": "duplicate", "rule": h.rule, "other": other})
        else:
            suspected_rows.setdefault(row_no, []).append(other | {"rule": h.rule})
            duplicates.append({"row": row_no, "kind": "suspected", "rule": h.rule, "other": other})
    for row_no, message in blocked.items():
        errors.append(
            {
                "row": row_no,
                "key": "id_number",
                "header": BY_KEY["id_number"].header,
                "value": "",
                "message": message,
                "kind": "duplicate",
            }
        )
    pending = [
        {"row": row_no, "data": _encode(data), "suspected": suspected_rows.get(row_no, [])}
        for row_no, data in valid
        if row_no not in blocked
    ]
    report(85, "正在生成校验报告……")
    by_row: dict[int, list[tuple[str, str]]] = {}
    for e in errors:
        by_row.setdefault(e["row"], []).append((e["key"], e["message"]))
    annotated = workbook_annotate(data=raw_bytes, fmt=batch.fmt, errors=by_row) if by_row else b""
    bad_rows = {e["row"] for e in errors}
    counts = {
        "total": len(rows),
        "valid": len(pending),
        "invalid": len(bad_rows),
        "duplicate": len(blocked),
        "suspected": len(suspected_rows),
        "by_kind": dict(Counter(e["kind"] for e in errors)),
    }
    batch.payload_key = default_storage.save(
        f"imports/{batch.id}/pending.json.gz",
        ContentFile(gzip.compress(json.dumps(pending, ensure_ascii=False).encode())),
    )
    if annotated:
        batch.annotated_key = default_storage.save(
            f"imports/{batch.id}/errors.xlsx", ContentFile(annotated)
        )
    batch.counts, batch.errors, batch.duplicates = counts, errors, duplicates
    batch.state = ImportBatch.State.READY
    batch.save()
    return batch


# -- confirm ------------------------------------------------------------------------

WRITE_BATCH = 2000  # rows per INSERT: ~60 columns each stays far below 65,535 parameters


@transaction.atomic(durable=True)
def import_confirm(*, batch_id: str, mode: str, actor: Actor) -> dict[str, int]:
    """Write the pending rows in ONE transaction, re-checking duplicates first so that a
    record registered since the dry run is not duplicated. Confirming twice is refused."""
    batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
    if batch.state != ImportBatch.State.READY:
        raise ApplicationError(MSG_NOT_READY.format(state=batch.get_state_display()), code="state")
    if mode not in ImportBatch.Mode.values:
        raise ApplicationError("请选择导入方式。", code="invalid")
    invalid = int(batch.counts.get("invalid", 0))
    if mode == ImportBatch.Mode.ALL_OR_NOTHING and invalid:
        raise ApplicationError(MSG_ALL_OR_NOTHING.format(n=invalid), code="invalid")
    with default_storage.open(batch.payload_key, "rb") as f:
        pending = json.loads(gzip.decompress(f.read()))
    rows = [(p["row"], _decode(p["data"]), p["suspected"]) for p in pending]
    written = students_create_bulk(rows=rows, actor=actor)
    batch.state, batch.mode, batch.committed_at = ImportBatch.State.COMMITTED, mode, timezone.now()
    batch.counts = {**batch.counts, "written": written["written"], "skipped": written["skipped"]}
    batch.save(update_fields=["state", "mode", "committed_at", "counts"])
    return written


def students_create_bulk(
    *, rows: list[tuple[int, dict[str, Any], list[dict[str, str]]]], actor: Actor
) -> dict[str, int]:
    """Set-based write of validated rows: students, family, history, problems, index."""
    keys = [keys_of(d) for _, d, _ in rows]
    # Re-check only ID duplicates: records registered by others since the dry run.
    taken = {h.position for h in duplicates_find(keys) if h.kind == "duplicate"}
    keep = [i for i in range(len(rows)) if i not in taken]
    school = current_school()
    classes = class_map()
    numbers = temporary_numbers(school.area, [rows[i][1]["birth_date"] for i in keep])
    students: list[Student] = []
    for n, i in enumerate(keep):
        _row, data, suspected = rows[i]
        s = Student(
            number_kind=Student.NumberKind.TEMPORARY,
            national_number=numbers[n],
            audit_state=Student.Audit.PROBLEM if suspected else Student.Audit.DRAFT,
        )
        _apply(s, data, classes)
        students.append(s)
    Student.objects.bulk_create(students, batch_size=WRITE_BATCH)
    members: list[FamilyMember] = []
    problems: list[ProblemRecord] = []
    for s, i in zip(students, keep, strict=True):
        members.extend(_members(s.pk, rows[i][1]))
        if rows[i][2]:
            problems.append(
                ProblemRecord(student_id=s.pk, kind=ProblemRecord.Kind.SUSPECTED, others=rows[i][2])
            )
    FamilyMember.objects.bulk_create(members, batch_size=WRITE_BATCH)
    ProblemRecord.objects.bulk_create(problems, batch_size=WRITE_BATCH)
    event_add([s.pk for s in students], actor=actor, action="导入", to_state="")
    klass_by_id = {c.pk: c for c in _classes()}
    records = []
    for s, i in zip(students, keep, strict=True):
        s.school_class = klass_by_id[s.school_class_id]
        records.append(index_record(s, keys[i]))
    index_upsert(school_id=school.id, records=records)
    return {"written": len(students), "skipped": len(taken)}


def _classes() -> list[Any]:
    from tenant_apps.registry.models import SchoolClass

    return list(SchoolClass.objects.all())
