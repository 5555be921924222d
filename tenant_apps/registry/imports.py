"""Import with dry run: upload → validate every row → 查重 → report → confirm → write.

Nothing reaches the students table before the user confirms. The upload itself is
refused before anything is stored when it is oversized, corrupt, encrypted or disguised.

Sized for a 50,000-row workbook against a national index of millions (bench/import.py,
figures in bench/RESULTS.md): 查重 is one statement for the whole file, the annotated
workbook is made by its own task after the report, and the confirmation writes with COPY
in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import gzip
import hmac
import json
import operator
import pickle
import queue
import threading
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.crypto import salted_hmac
from psycopg import sql

from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.student_index.keys import IdentityKeys
from shared_apps.student_index.services import (
    IndexRecord,
    duplicates_find,
    index_copy,
    index_insert,
)
from tenant_apps.registry.fields import BY_KEY, COLUMNS
from tenant_apps.registry.models import FamilyMember, ImportBatch, ProblemRecord, Student
from tenant_apps.registry.services import (
    _MEMBER_NULLABLE,
    MEMBER_FIELDS,
    _apply,
    aux_number_refuse_locked,
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


def _decode(data: dict[str, Any]) -> dict[str, Any]:
    """Typed values of a pending row stored before PAYLOAD_VERSION 2 (a dict per row)."""
    for k in DATE_KEYS & data.keys():
        if data[k]:
            data[k] = dt.date.fromisoformat(data[k])
    for k in DECIMAL_KEYS & data.keys():
        if data[k] is not None:
            data[k] = Decimal(data[k])
    return data


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a whole workbook is in memory.

    A 50,000-row import holds millions of live objects (cells, row dicts, validated
    values); every collection of the oldest generation walks all of them, about 15 % of
    the dry run's CPU time (bench/RESULTS.md). The import makes almost no reference
    cycles, and whatever it leaves is collected once the collector is back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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

PAYLOAD_VERSION = 3
# Version 3 is a pickle, signed: pickle writes and reads dates, decimals and tuples in C,
# where the JSON of version 2 needed a Python pass per row each way (48,400 rows: dump
# 1.0 s and load 0.7 s as JSON; see bench/RESULTS.md). Unpickling runs code named by the
# data, so the bytes carry an HMAC under the SECRET_KEY and are refused unless it matches:
# whoever can write the storage bucket still cannot make the web process run anything.
PAYLOAD_MAGIC = b"XJPENDING3\n"
PAYLOAD_SALT = "registry.imports.pending"
# zlib level 1: written once and read once; level 1 costs a fraction of a second for a
# 50,000-row file and keeps the stored object about a quarter of the raw pickle.
PAYLOAD_ZLIB_LEVEL = 1
MSG_PAYLOAD_BROKEN = "待导入的数据已损坏或被改动，请重新上传文件。"


def _payload_signature(body: bytes) -> bytes:
    return salted_hmac(PAYLOAD_SALT, body, algorithm="sha256").digest()


def _payload_dump(
    pending: list[tuple[int, dict[str, Any], list[dict[str, str]], IdentityKeys]],
) -> bytes:
    """The rows waiting for confirmation: one column list, then each row's values in that
    order with its suspected matches and identity keys (so the confirmation, usually in
    another process, need not derive them again)."""
    columns = list(pending[0][1]) if pending else []
    get = operator.itemgetter(*columns) if len(columns) > 1 else None
    rows = [
        (
            row_no,
            get(data) if get is not None else tuple(data[c] for c in columns),
            suspected,
            (k.id_hash, k.name_hash, k.pinyin_hash),
        )
        for row_no, data, suspected, k in pending
    ]
    body = zlib.compress(
        pickle.dumps(
            {"version": PAYLOAD_VERSION, "columns": columns, "rows": rows},
            protocol=pickle.HIGHEST_PROTOCOL,
        ),
        PAYLOAD_ZLIB_LEVEL,
    )
    return PAYLOAD_MAGIC + _payload_signature(body) + body


def _payload_load(
    raw: bytes,
) -> tuple[list[tuple[int, dict[str, Any], list[dict[str, str]]]], list[IdentityKeys] | None]:
    if raw.startswith(PAYLOAD_MAGIC):
        start = len(PAYLOAD_MAGIC)
        signature, body = raw[start : start + 32], raw[start + 32 :]
        if not hmac.compare_digest(signature, _payload_signature(body)):
            raise ApplicationError(MSG_PAYLOAD_BROKEN, code="state")
        payload = pickle.loads(zlib.decompress(body))  # noqa: S301 - signed above
        columns = payload["columns"]
        rows = [(r[0], dict(zip(columns, r[1], strict=True)), r[2]) for r in payload["rows"]]
        return rows, [IdentityKeys(*r[3]) for r in payload["rows"]]
    return _payload_load_json(raw)


def _payload_load_json(
    raw: bytes,
) -> tuple[list[tuple[int, dict[str, Any], list[dict[str, str]]]], list[IdentityKeys] | None]:
    """Pending rows stored as gzip JSON (PAYLOAD_VERSION 1 and 2), by a dry run made before
    the upgrade and confirmed after it."""
    payload = json.loads(gzip.decompress(raw))
    if isinstance(payload, list):  # written before PAYLOAD_VERSION 2: a list of dicts
        return [(p["row"], _decode(p["data"]), p["suspected"]) for p in payload], None
    columns: list[str] = payload["columns"]
    dates = [i for i, c in enumerate(columns) if c in DATE_KEYS]
    decimals = [i for i, c in enumerate(columns) if c in DECIMAL_KEYS]
    rows: list[tuple[int, dict[str, Any], list[dict[str, str]]]] = []
    keys: list[IdentityKeys] = []
    for row_no, values, suspected, k in payload["rows"]:
        for i in dates:
            if values[i]:
                values[i] = dt.date.fromisoformat(values[i])
        for i in decimals:
            if values[i] is not None:
                values[i] = Decimal(values[i])
        rows.append((row_no, dict(zip(columns, values, strict=True)), suspected))
        keys.append(IdentityKeys(*k))
    return rows, keys


@_gc_paused()
def import_validate(*, batch_id: str, progress: Progress | None = None) -> ImportBatch:
    """Parse, validate every row, 查重 the valid ones set-based, and write the report and
    the pending rows. Students are not touched.

    The annotated workbook is not made here: it costs more than all of the above on a
    big file, so `import_annotate` makes it afterwards (the task registry.import_annotate,
    queued by the validate task once this report is saved). Until it is done
    `annotated_key` stays empty, and the report page and the API show the download link
    only when `annotated_key` is set.
    """
    from tenant_apps.registry.validation import RowValidator
    from tenant_apps.registry.workbooks import UploadRejected, workbook_read

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
    del raw_bytes
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
    total = len(rows)
    del rows
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
    report(85, "正在生成校验报告……")
    pending = [
        (row_no, data, suspected_rows.get(row_no, []), k)
        for (row_no, data), k in zip(valid, keys, strict=True)
        if row_no not in blocked
    ]
    bad_rows = {e["row"] for e in errors}
    counts = {
        "total": total,
        "valid": len(pending),
        "invalid": len(bad_rows),
        "duplicate": len(blocked),
        "suspected": len(suspected_rows),
        "by_kind": dict(Counter(e["kind"] for e in errors)),
    }
    batch.payload_key = default_storage.save(
        f"imports/{batch.id}/pending.bin", ContentFile(_payload_dump(pending))
    )
    batch.counts, batch.errors, batch.duplicates = counts, errors, duplicates
    batch.state = ImportBatch.State.READY
    batch.save()
    return batch


def import_annotate(*, batch_id: str) -> bool:
    """The upload handed back with every problem cell marked (workbooks.workbook_annotate),
    stored next to it; `annotated_key` is set once it exists, which is what makes the
    report page and the API offer the download. Runs after import_validate, in its own
    task (registry.import_annotate), off the path from upload to report. Returns whether
    a file was made (a batch without errors gets none)."""
    from tenant_apps.registry.workbooks import workbook_annotate

    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None or not batch.errors or batch.annotated_key:
        return False
    by_row: dict[int, list[tuple[str, str]]] = {}
    for e in batch.errors:
        by_row.setdefault(e["row"], []).append((e["key"], e["message"]))
    with default_storage.open(batch.file_key, "rb") as f:
        raw_bytes = f.read()
    annotated = workbook_annotate(data=raw_bytes, fmt=batch.fmt, errors=by_row)
    key = default_storage.save(f"imports/{batch.id}/errors.xlsx", ContentFile(annotated))
    ImportBatch.objects.filter(pk=batch.pk).update(annotated_key=key)
    return True


# -- confirm ------------------------------------------------------------------------


@_gc_paused()
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
        rows, keys = _payload_load(f.read())
    written = students_create_bulk(rows=rows, actor=actor, keys=keys)
    batch.state, batch.mode, batch.committed_at = ImportBatch.State.COMMITTED, mode, timezone.now()
    batch.counts = {**batch.counts, "written": written["written"], "skipped": written["skipped"]}
    batch.save(update_fields=["state", "mode", "committed_at", "counts"])
    return written


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a table of the current school (the search_path resolves the name)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _ids_reserve(model: type[Student], n: int) -> list[int]:
    """`n` primary keys from the table's own sequence, so children can point at them."""
    if not n:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, n],
        )
        return [row[0] for row in cursor.fetchall()]


class _StudentRows:
    """Student rows without Model.__init__: `_apply` fills a bare instance (it needs only
    attributes), and the row is read back in the table's column order."""

    def __init__(self) -> None:
        fields = Student._meta.concrete_fields
        now = timezone.now()
        self.columns = [f.column for f in fields]
        self._values = operator.itemgetter(*[f.attname for f in fields])
        # Callable defaults give every student its own value (identifier: uuid4).
        self._fresh = [f for f in fields if f.has_default() and callable(f.default)]
        fresh = {f.attname for f in self._fresh}
        self._base = {
            f.attname: now
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default()
            for f in fields
            if f.attname not in fresh
        }
        self._class_cache = Student._meta.get_field("school_class")
        self.status = self._base["status"]  # what every imported student starts with

    def new(self, **given: Any) -> Student:
        """A bare student; `given` attributes replace defaults (a uuid made beforehand)."""
        student = Student.__new__(Student)
        student._state = ModelState()
        state = student.__dict__
        state.update(self._base)
        for f in self._fresh:
            state[f.attname] = given[f.attname] if f.attname in given else f.get_default()
        state.update(given)
        return student

    def class_attach(self, student: Student, klass: Any) -> None:
        """`student.school_class` without a query (after `_apply` set the id, which
        clears it)."""
        self._class_cache.set_cached_value(student, klass)

    def row(self, student: Student) -> tuple[Any, ...]:
        return self._values(student.__dict__)  # type: ignore[no-any-return]


# Per slot: the row's keys (m1_name, ...) and the positions of the fields whose empty cell
# is stored as "" rather than NULL (as _members does).
_MEMBER_SLOTS = [
    (
        slot,
        [f"m{slot}_{f}" for f in MEMBER_FIELDS],
        [n for n, f in enumerate(MEMBER_FIELDS) if f not in _MEMBER_NULLABLE],
    )
    for slot in (1, 2)
]


def _member_rows(student_id: int, data: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """What services._members makes for a student, as COPY rows (student, slot, fields):
    a slot with every cell empty (None or "") is no member."""
    get = data.get
    for slot, keys, texts in _MEMBER_SLOTS:
        values = list(map(get, keys))
        nones = values.count(None)
        if nones + values.count("") == len(values):
            continue
        if nones:
            for n in texts:
                if values[n] is None:
                    values[n] = ""
        yield (student_id, slot, *values)


def students_create_bulk(
    *,
    rows: list[tuple[int, dict[str, Any], list[dict[str, str]]]],
    actor: Actor,
    keys: Sequence[IdentityKeys] | None = None,
) -> dict[str, int]:
    """Set-based write of validated rows: students, family, history, problems, index.

    Call inside a transaction (import_confirm's). Students, family members, events and
    index entries go in with COPY; student ids are drawn from the table's sequence first
    so the other rows can point at them. `keys` are the rows' identity keys when the
    caller has them already (the dry run stored them).
    """
    if keys is None:
        keys = [keys_of(d) for _, d, _ in rows]
    aux_number_refuse_locked(
        (f"第{row}行", str(d.get("class_no") or ""), str(d["aux_number"]))
        for row, d, _ in rows
        if d.get("aux_number")
    )
    # Re-check only ID duplicates: records registered by others since the dry run.
    taken = {h.position for h in duplicates_find(keys, rules=("id",))}
    keep = [i for i in range(len(rows)) if i not in taken]
    if not keep:
        return {"written": 0, "skipped": len(taken)}
    school = current_school()
    classes = class_map()
    klass_by_id = {c.pk: c for c in _classes()}
    numbers = temporary_numbers(school.area, [rows[i][1]["birth_date"] for i in keep])
    ids = _ids_reserve(Student, len(keep))
    builder = _StudentRows()
    member_rows: list[tuple[Any, ...]] = []
    problems: list[ProblemRecord] = []
    # The index entries are known before the students are built (uuid, keys, class and
    # the few attributes the index keeps), so they can go to PostgreSQL first.
    uuids = [uuid.uuid4() for _ in keep]
    records = [
        _index_record_early(
            rows[i][1],
            uuids[n],
            keys[i],
            klass_by_id[classes[rows[i][1]["class_no"]]],
            builder,
            bool(rows[i][2]),
        )
        for n, i in enumerate(keep)
    ]

    def student_rows() -> Iterator[tuple[Any, ...]]:
        for n, i in enumerate(keep):
            row_no, data, suspected = rows[i]
            s = builder.new(identifier=uuids[n])
            s.id = ids[n]
            s.number_kind = Student.NumberKind.TEMPORARY
            s.national_number = numbers[n]
            s.audit_state = Student.Audit.PROBLEM if suspected else Student.Audit.DRAFT
            _apply(s, data, classes)
            builder.class_attach(s, klass_by_id[s.school_class_id])
            if n % _RECORD_CHECK_EVERY == 0 and index_record(s, keys[i]) != records[n]:
                # _index_record_early must say what the single-entry path says (checked
                # on a sample: the rule is the same for every row, and the full check
                # cost 0.3 s per 50,000 rows).
                raise RuntimeError(f"index entry of row {row_no} differs from index_record")
            yield builder.row(s)
            member_rows.extend(_member_rows(s.id, data))
            if suspected:
                problems.append(
                    ProblemRecord(
                        student_id=s.id, kind=ProblemRecord.Kind.SUSPECTED, others=suspected
                    )
                )

    if len(keep) >= OVERLAP_MIN_ROWS:
        _copy_overlapped(school.id, records, builder.columns, student_rows())
    else:
        _copy(Student._meta.db_table, builder.columns, student_rows())
        index_insert(school_id=school.id, records=records)
    _copy(
        FamilyMember._meta.db_table,
        ["student_id", "slot", *(FamilyMember._meta.get_field(f).column for f in MEMBER_FIELDS)],
        member_rows,
    )
    ProblemRecord.objects.bulk_create(problems, batch_size=WRITE_BATCH)
    event_add(ids, actor=actor, action="导入", to_state="")
    return {"written": len(keep), "skipped": len(taken)}


def _index_record_early(
    data: dict[str, Any],
    student_uuid: uuid.UUID,
    keys: IdentityKeys,
    klass: Any,
    builder: _StudentRows,
    suspected: bool,
) -> IndexRecord:
    """What services.index_record will say of the student built from `data`, without
    building it (students_create_bulk checks that both agree, row by row)."""
    audit = Student.Audit.PROBLEM if suspected else Student.Audit.DRAFT
    return IndexRecord(
        student_uuid=student_uuid,
        keys=keys,
        stage=klass.stage,
        entry_year=klass.entry_year,
        sex=data["sex"],
        ethnicity=data.get("ethnicity") or "",
        status=builder.status,
        audit_state=audit,
        has_problem=audit == Student.Audit.PROBLEM,
    )


# From this many rows on, the index COPY runs beside the building of the student rows.
OVERLAP_MIN_ROWS = 1000
# How long the COPY thread waits for the next rows before it gives up (a stuck builder;
# normally a chunk comes every few tens of milliseconds).
OVERLAP_WAIT_SECONDS = 60
_CHUNK = 500  # student rows handed to the COPY thread at a time
_RECORD_CHECK_EVERY = 50
_END, _ABORT = object(), object()


def _copy_overlapped(
    school_id: int,
    records: Sequence[IndexRecord],
    student_columns: Sequence[str],
    student_rows: Iterator[tuple[Any, ...]],
) -> None:
    """The index entries' COPY, then the students' COPY, on this transaction's connection
    from a worker thread, while this thread builds the student rows.

    Filling the public index (B-tree inserts into millions of entries) keeps PostgreSQL
    busy for seconds while Python waits, and building the students (`_apply`) keeps
    Python busy while PostgreSQL waits: one after the other they cost the sum, side by
    side about the larger (two processes, two cores; bench/RESULTS.md). Same connection,
    so same transaction: a failure on either side rolls everything back. This thread
    must not touch the database meanwhile: psycopg would make it wait for the COPY, which
    waits for it. Should that ever happen, the COPY gives up after OVERLAP_WAIT_SECONDS
    without rows, aborting the transaction, and the import fails instead of hanging.
    """
    connection.ensure_connection()
    raw = connection.connection
    student_table = sql.Identifier(connection.schema_name, Student._meta.db_table)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        student_table, sql.SQL(", ").join(map(sql.Identifier, student_columns))
    )
    chunks: queue.SimpleQueue[object] = queue.SimpleQueue()
    failure: list[BaseException] = []

    def queued_rows() -> Iterator[tuple[Any, ...]]:
        while True:
            chunk = chunks.get(timeout=OVERLAP_WAIT_SECONDS)
            if chunk is _END:
                return
            if chunk is _ABORT:
                raise RuntimeError("student rows were not built")
            yield from chunk  # type: ignore[misc]

    def work() -> None:
        try:
            with raw.cursor() as cursor:
                index_copy(cursor, school_id=school_id, records=records)
                with cursor.copy(statement) as copy:
                    for row in queued_rows():
                        copy.write_row(row)
        except BaseException as exc:  # handed to the calling thread
            failure.append(exc)

    worker = threading.Thread(target=work, name="import-copy", daemon=True)
    worker.start()
    try:
        chunk: list[tuple[Any, ...]] = []
        for row in student_rows:
            chunk.append(row)
            if len(chunk) == _CHUNK:
                chunks.put(chunk)
                chunk = []
        chunks.put(chunk)
    except BaseException:
        chunks.put(_ABORT)
        worker.join()
        raise
    chunks.put(_END)
    worker.join()
    if failure:
        raise failure[0]


WRITE_BATCH = 2000  # rows per INSERT of the few ORM-written rows (problem records)


def _classes() -> list[Any]:
    from tenant_apps.registry.models import SchoolClass

    return list(SchoolClass.objects.all())
