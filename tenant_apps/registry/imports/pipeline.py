"""Import with dry run: upload → validate every row → 查重 → report → confirm → write.

Nothing reaches the students table before the user confirms. The upload itself is
refused before anything is stored when it is oversized, corrupt, encrypted or disguised.

Sized for a 50,000-row workbook against a national index of millions (bench/import.py,
figures in bench/RESULTS.md): the dry run's per-row Python runs in two processes and
makes the rows' COPY text as it goes, 查重 is one statement per process's share, the
annotated workbook is made by its own task after the report, and the confirmation
writes the prepared text with COPY in one transaction (bulkwrite). The pending rows'
storage format is registry.imports.pending, the 查重 inside the file registry.imports.in_file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import gzip
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from common.forking import Stream, fork_available, fork_map
from common.masking import mask_id_number
from shared_apps.student_index.keys import IdentityKeys
from shared_apps.student_index.services import Hit, duplicates_find
from tenant_apps.registry.facade.hooks import admission_refusal
from tenant_apps.registry.imports.bulkwrite import Prepared, Preparer, prepare, prepared_write
from tenant_apps.registry.imports.in_file import dup_error, in_file_pairs, partial_keys, row_other
from tenant_apps.registry.imports.pending import payload_load, payload_pack, rows_blob
from tenant_apps.registry.models import ImportBatch
from tenant_apps.registry.students.services import (
    admission_error,
    current_school,
    keys_of,
    masked_for_hits,
)

if TYPE_CHECKING:
    from tenant_apps.registry.validation.rows import Normalised

Progress = Callable[[int, str], None]
MSG_NOT_READY = "该批次当前状态为“{state}”，不能确认导入。"
MSG_JOB_COMMITTED = "已导入 {written} 名学生（跳过 {skipped} 行），由{who}确认。"
MSG_ALL_OR_NOTHING = "有 {n} 行不能导入；选择“全部正确才导入”时，请先改正后重新上传。"
MSG_HEADERS_ALL = (
    "文件中有无法识别的列：{columns}。这些列的内容不会导入；选择“全部正确才导入”时，"
    "请先把列名改成模板的列名后重新上传。"
)
MSG_HEADERS_ACK = (
    "文件中有无法识别的列：{columns}。这些列的内容不会导入，请确认知晓后再导入，"
    "或改正列名后重新上传。"
)
MSG_DUP_IN_FILE = "身份证件号与本文件第 {other} 行重复。"
MSG_DUP_OTHER = "身份证件号与已有学籍重复：{school} {name} {id}（{status}）。"
MSG_SAME_SCHOOL = "本校已有该学生（{name}，{id}），不能重复导入。"


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
    from tenant_apps.registry.imports.columns import UploadRejected
    from tenant_apps.registry.imports.sniff import upload_sniff
    from tenant_apps.registry.tasks import import_validate_task

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

# From this many rows on, the dry run splits the rows between two processes.
PARALLEL_MIN_ROWS = 1000


@dataclass
class _Part:
    """One process's share of the dry run: what the parent needs to find duplicates, and
    the valid rows themselves already packed for the pending payload."""

    total: int  # filled rows seen
    errors: list[dict[str, Any]]
    # Corrections applied: the first NORMALISED_KEPT as {row, key, header, before, after}
    # and how many per header in all.
    normalised: list[dict[str, Any]]
    normalised_by_field: Counter[str]
    normalised_cells: list[tuple[int, str, str]]  # every one: (row, key, value stored)
    # The identity keys of rows refused for other reasons, as far as their cells allow:
    # an ID number used twice in the file is reported even when the rest of a row is wrong.
    bad_keys: list[tuple[int, IdentityKeys]]
    row_no: list[int]
    keys: list[IdentityKeys]
    class_no: list[str]
    blob: bytes  # rows_blob of the valid rows
    hits: list[Hit] | None = None  # 查重 of `keys`, when made in the parent already


# The child sends its identity keys every KEYS_CHUNK valid rows; the parent, once its own
# share is done, checks its keys and then the child's as they come (查重 is about a
# seventh of a row's cost, in PostgreSQL), so its share is a little smaller: both are done
# at about the same moment, and only the child's last chunk is left to check.
PARENT_SHARE = 0.47
KEYS_CHUNK = 4000
# The report lists this many corrections one by one (the counts per field cover all): a
# file whose every date is written 2018-03-01 needs the rule, not 50,000 lines.
NORMALISED_KEPT = 2000


def _normalised_entry(row_no: int, change: Normalised) -> dict[str, Any]:
    """A correction for the report. ID numbers are kept masked, as every list shows
    them: the change (x → X, full-width digits, spaces) still shows at the ends."""
    before, after = change.before, change.after
    if "id_number" in change.key:
        before, after = mask_id_number(before), mask_id_number(after)
    return {
        "row": row_no,
        "key": change.key,
        "header": change.header,
        "before": before,
        "after": after,
    }


def _key_tuples(rows: Prepared, start: int) -> list[tuple[Any, ...]]:
    """The identity keys of rows[start:], as plain tuples (cheap to send)."""
    ids, names, pinyins = rows.id_hash[start:], rows.name_hash[start:], rows.pinyin_hash[start:]
    near, low = rows.near_hashes[start:], rows.low_hashes[start:]
    return list(zip(ids, names, pinyins, near, low, strict=True))


def _shares(n: int) -> list[tuple[int, int]]:
    if n < PARALLEL_MIN_ROWS or not fork_available():
        return [(0, n)]
    cut = int(n * PARENT_SHARE)
    return [(0, cut), (cut, n)]


@_gc_paused()
def import_validate(*, batch_id: str, progress: Progress | None = None) -> ImportBatch:
    """Parse, validate every row, 查重 the valid ones set-based, and write the report and
    the pending rows. Students are not touched.

    From PARALLEL_MIN_ROWS rows on, the rows are split between this process and a forked
    one (common.forking): conversion, validation, identity keys and the rows' COPY text
    (bulkwrite.Prepared) are pure Python per row, and a second core halves them. This
    process checks its own share against the index, then the other's identity keys as
    the other sends them (common.forking.Stream), while that one is still working.

    The annotated workbook is not made here: it costs more than all of the above on a
    big file, so `import_annotate` makes it afterwards (the task registry.import_annotate,
    queued by the validate task once this report is saved). Until it is done
    `annotated_key` stays empty, and the report page and the API show the download link
    only when `annotated_key` is set.
    """
    from tenant_apps.registry.imports.columns import UploadRejected
    from tenant_apps.registry.imports.reader import workbook_sheet
    from tenant_apps.registry.validation.rows import RowValidator

    report = progress or (lambda percent, message: None)
    batch = ImportBatch.objects.get(pk=batch_id)
    with default_storage.open(batch.file_key, "rb") as f:
        raw_bytes = f.read()
    try:
        sheet = workbook_sheet(data=raw_bytes, fmt=batch.fmt)
    except UploadRejected as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=ImportBatch.State.FAILED, counts={"message": exc.message}
        )
        raise ApplicationError(exc.message, code="upload") from exc
    del raw_bytes
    report(10, f"已读取 {len(sheet.grid)} 行，正在校验……")

    preparer = Preparer()
    classes = preparer.classes
    validator = RowValidator(class_nos=set(classes))
    # Loaded before the rows are shared out: the forked worker uses it without a query.
    refusal = admission_refusal()
    shares = _shares(len(sheet.grid))
    # Progress is reported by this process only, for its own share.
    span = max(shares[0][1] - shares[0][0], 1)
    step = max(span // 20, 1)  # about 20 reports whatever the size, not one per 5,000 rows

    stream = Stream()
    streamed: list[Hit] = []  # 查重 of the child's keys, made here while it works
    streamed_keys = 0

    def work(share: tuple[int, int]) -> _Part:
        nonlocal streamed_keys
        start, stop = share
        here = start == 0  # fork_map runs the first share in this process
        rows = Prepared()
        errors: list[dict[str, Any]] = []
        normalised: list[dict[str, Any]] = []
        normalised_by_field: Counter[str] = Counter()
        bad_keys: list[tuple[int, IdentityKeys]] = []
        normalised_cells: list[tuple[int, str, str]] = []
        sent = 0
        n = 0
        for n, (row_no, raw) in enumerate(sheet.records(start, stop), 1):
            result = validator.validate(raw)
            if result.normalised:
                for c in result.normalised:
                    normalised_by_field[c.header] += 1
                    normalised_cells.append((row_no, c.key, c.after))
                    if len(normalised) < NORMALISED_KEPT:
                        normalised.append(_normalised_entry(row_no, c))
            if result.errors:
                partial = partial_keys(result.data, result.errors)
                if partial is not None:
                    bad_keys.append((row_no, partial))
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
                # The exact keys only: near_check adds the near ones after the commit.
                keys = keys_of(result.data, near=False)
                intake = refusal(result.data.get("class_no"), keys) if refusal else None
                if intake:
                    # A new intake pupil the county's admitted list lacks
                    # (rosters.admissions, through facade.hooks).
                    key, header, value, message = admission_error(result.data, intake)
                    errors.append(
                        {
                            "row": row_no,
                            "key": key,
                            "header": header,
                            "value": value,
                            "message": message,
                            "kind": "not_admitted",
                        }
                    )
                else:
                    preparer.add(rows, row_no, result.data, keys)
                if not here and len(rows) - sent == KEYS_CHUNK:
                    stream.send((sent, _key_tuples(rows, sent)))
                    sent = len(rows)
            if here and n % step == 0:
                report(10 + 60 * n // span, f"已校验约 {n * len(shares)} 行")
        if not here and len(rows) > sent:
            stream.send((sent, _key_tuples(rows, sent)))
        part = _Part(
            n,
            errors,
            normalised,
            normalised_by_field,
            normalised_cells,
            bad_keys,
            rows.row_no,
            rows.keys(),
            rows.class_no,
            rows_blob(rows),
        )
        if here and len(shares) > 1:
            report(70, "正在查重……")
            part.hits = duplicates_find(part.keys)
            for offset, chunk in stream:
                found = duplicates_find([IdentityKeys(*k) for k in chunk])
                streamed.extend(dataclasses.replace(h, position=h.position + offset) for h in found)
                streamed_keys += len(chunk)
        return part

    parts = fork_map(work, shares, stream=stream)
    if len(parts) > 1 and streamed_keys == len(parts[1].keys):
        parts[1].hits = streamed
    sheet.grid = []  # the raw cells are no longer needed
    report(75, "正在汇总查重结果……")
    row_nos: list[int] = []
    keys: list[IdentityKeys] = []
    class_nos: list[str] = []
    errors: list[dict[str, Any]] = []
    normalised: list[dict[str, Any]] = []
    normalised_by_field: Counter[str] = Counter()
    bad_keys: list[tuple[int, IdentityKeys]] = []
    normalised_cells: list[tuple[int, str, str]] = []
    hits: list[Hit] = []
    total = 0
    for part in parts:
        bad_keys.extend(part.bad_keys)
        normalised_cells.extend(part.normalised_cells)
        normalised.extend(part.normalised[: NORMALISED_KEPT - len(normalised)])
        normalised_by_field.update(part.normalised_by_field)
        found = part.hits if part.hits is not None else duplicates_find(part.keys)
        hits.extend(dataclasses.replace(h, position=h.position + len(keys)) for h in found)
        row_nos.extend(part.row_no)
        keys.extend(part.keys)
        class_nos.extend(part.class_no)
        errors.extend(part.errors)
        total += part.total

    blocked: dict[int, str] = {}
    duplicates: list[dict[str, Any]] = []
    valid_rows = set(row_nos)
    in_file = in_file_pairs([*zip(row_nos, keys, strict=True), *bad_keys])
    for row_no, first in in_file.same_id.items():
        if row_no in valid_rows:
            blocked[row_no] = MSG_DUP_IN_FILE.format(other=first)
        else:
            errors.append(dup_error(row_no, MSG_DUP_IN_FILE.format(other=first)))
        duplicates.append(
            {"row": row_no, "kind": "duplicate", "rule": "id", "other": row_other(first)}
        )
    summaries = masked_for_hits(hits)
    school_id = current_school().id
    suspected_rows: dict[int, list[dict[str, str]]] = {}
    for h in hits:
        row_no = row_nos[h.position]
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
    for row_no, rule, other in in_file.alike:  # type: ignore[assignment]
        duplicates.append(
            {"row": row_no, "kind": "suspected", "rule": rule, "other": row_other(other)}  # type: ignore[arg-type]
        )
        if row_no in valid_rows and row_no not in blocked:
            suspected_rows.setdefault(row_no, []).append(row_other(other) | {"rule": rule})  # type: ignore[arg-type]
    duplicates.sort(key=lambda d: d["row"])
    for row_no, message in blocked.items():
        errors.append(dup_error(row_no, message))
    report(85, "正在生成校验报告……")
    skip = [i for i, row_no in enumerate(row_nos) if row_no in blocked]
    bad_rows = {e["row"] for e in errors}
    counts = {
        "total": total,
        "valid": len(row_nos) - len(skip),
        "invalid": len(bad_rows),
        "duplicate": len({e["row"] for e in errors if e["kind"] == "duplicate"}),
        "suspected": len(suspected_rows),
        "by_kind": dict(Counter(e["kind"] for e in errors)),
        "normalised_total": sum(normalised_by_field.values()),
        "normalised_by_field": dict(normalised_by_field.most_common()),
        "normalised": normalised,
        "headers_unknown": sheet.layout.unknown,
    }
    payload = payload_pack(
        blobs=[part.blob for part in parts],
        skip=skip,
        suspected={
            i: suspected_rows[row_no]
            for i, row_no in enumerate(row_nos)
            if row_no in suspected_rows and row_no not in blocked
        },
        classes={c: classes[c] for c in set(class_nos)},
    )
    del parts
    batch.payload_key = default_storage.save(
        f"imports/{batch.id}/pending.bin", ContentFile(payload)
    )
    if normalised_cells:
        # Every correction, for the annotated workbook (the report lists the first ones).
        counts["normalised_key"] = default_storage.save(
            f"imports/{batch.id}/normalised.json.gz",
            ContentFile(gzip.compress(json.dumps(normalised_cells).encode())),
        )
    batch.counts, batch.errors, batch.duplicates = counts, errors, duplicates
    batch.state = ImportBatch.State.READY
    # Only a batch still being checked becomes ready: one reset meanwhile (its run was
    # given up for lost, import_validate_abandon) stays failed, as the user was told.
    ImportBatch.objects.filter(pk=batch.pk, state=ImportBatch.State.VALIDATING).update(
        payload_key=batch.payload_key,
        counts=counts,
        errors=errors,
        duplicates=duplicates,
        state=ImportBatch.State.READY,
    )
    return batch


MSG_VALIDATE_INTERRUPTED = (
    "校验被中断（后台处理进程意外退出），没有导入任何数据。请重新上传文件后再试。"
)
MSG_VALIDATE_FAILED = "校验失败，没有导入任何数据。请稍后重新上传文件；仍然失败时请联系管理员。"


def import_validate_abandon(job_id: str, message: str = MSG_VALIDATE_INTERRUPTED) -> int:
    """The dry run of this job will not finish (its worker died, or it failed): the batch
    leaves 校验中 for 失败 with `message`, and the report page offers 重新上传. Nothing
    was written to students (that happens only on confirmation); pending rows a killed
    run may have stored are never referenced. Registered as the `student_import` job
    kind's reset (jobs.services.job_abandon), which runs it in the school's schema."""
    return ImportBatch.objects.filter(job_id=job_id, state=ImportBatch.State.VALIDATING).update(
        state=ImportBatch.State.FAILED, counts={"message": message}
    )


def import_annotate(*, batch_id: str) -> bool:
    """The upload handed back with every problem cell marked (workbooks.workbook_annotate),
    stored next to it; `annotated_key` is set once it exists, which is what makes the
    report page and the API offer the download. Runs after import_validate, in its own
    task (registry.import_annotate), off the path from upload to report. Returns whether
    a file was made (a batch without errors or normalisations gets none)."""
    from tenant_apps.registry.imports.annotate import workbook_annotate

    batch = ImportBatch.objects.filter(pk=batch_id).first()
    changes_key = "" if batch is None else str(batch.counts.get("normalised_key") or "")
    if batch is None or not (batch.errors or changes_key) or batch.annotated_key:
        return False
    by_row: dict[int, list[tuple[str, str]]] = {}
    for e in batch.errors:
        by_row.setdefault(e["row"], []).append((e["key"], e["message"]))
    changes: dict[int, list[tuple[str, str]]] = {}
    if changes_key:
        with default_storage.open(changes_key, "rb") as f:
            for row_no, key, after in json.loads(gzip.decompress(f.read())):
                changes.setdefault(row_no, []).append((key, after))
    with default_storage.open(batch.file_key, "rb") as f:
        raw_bytes = f.read()
    annotated = workbook_annotate(data=raw_bytes, fmt=batch.fmt, errors=by_row, normalised=changes)
    key = default_storage.save(f"imports/{batch.id}/errors.xlsx", ContentFile(annotated))
    ImportBatch.objects.filter(pk=batch.pk).update(annotated_key=key)
    return True


# -- confirm ------------------------------------------------------------------------


def headers_unknown_text(unknown: Sequence[dict[str, Any]]) -> str:
    """第12列“成员1身份证号”（是否应为“成员1身份证件号”？）、第30列“备注”"""
    parts = []
    for u in unknown:
        text = f"第{u['column']}列“{u['header']}”"
        if u.get("suggestion"):
            text += f"（是否应为“{u['suggestion']}”？）"
        parts.append(text)
    return "、".join(parts)


@_gc_paused()
@transaction.atomic(durable=True)
def import_confirm(
    *, batch_id: str, mode: str, actor: Actor, acknowledge_headers: bool = False
) -> dict[str, int]:
    """Write the pending rows in ONE transaction, re-checking duplicates first so that a
    record registered since the dry run is not duplicated. Confirming twice is refused.

    Columns whose header is no template column were not read at all: "nothing unless
    all are valid" refuses such a file, and "only the valid rows" needs the user to
    acknowledge that those columns are left out (`acknowledge_headers`)."""
    return import_commit(
        batch_id=batch_id, mode=mode, actor=actor, acknowledge_headers=acknowledge_headers
    )


def import_commit(
    *, batch_id: str, mode: str, actor: Actor, acknowledge_headers: bool = False
) -> dict[str, int]:
    """import_confirm's write, inside the caller's transaction: for a caller whose own
    rows must change in the same transaction as the students (rosters' 全部转学籍系统
    marks its staged rows promoted), so that either both are written or neither."""
    batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
    if batch.state != ImportBatch.State.READY:
        raise ApplicationError(MSG_NOT_READY.format(state=batch.get_state_display()), code="state")
    if mode not in ImportBatch.Mode.values:
        raise ApplicationError("请选择导入方式。", code="invalid")
    unknown = batch.counts.get("headers_unknown") or []
    if unknown and mode == ImportBatch.Mode.ALL_OR_NOTHING:
        raise ApplicationError(
            MSG_HEADERS_ALL.format(columns=headers_unknown_text(unknown)), code="headers"
        )
    if unknown and not acknowledge_headers:
        raise ApplicationError(
            MSG_HEADERS_ACK.format(columns=headers_unknown_text(unknown)), code="headers"
        )
    invalid = int(batch.counts.get("invalid", 0))
    if mode == ImportBatch.Mode.ALL_OR_NOTHING and invalid:
        raise ApplicationError(MSG_ALL_OR_NOTHING.format(n=invalid), code="invalid")
    with default_storage.open(batch.payload_key, "rb") as f:
        pending = payload_load(f.read())
    written = prepared_write(
        pending.rows, suspected=pending.suspected, classes=pending.classes, actor=actor
    )
    batch.state, batch.mode, batch.committed_at = ImportBatch.State.COMMITTED, mode, timezone.now()
    batch.counts = {**batch.counts, "written": written["written"], "skipped": written["skipped"]}
    batch.save(update_fields=["state", "mode", "committed_at", "counts"])
    if written["written"]:
        # The near keys of the rows written, after the commit (imports.near_check).
        from tenant_apps.registry.tasks import import_near_check_task

        transaction.on_commit(lambda: import_near_check_task.delay(str(batch.pk)))
    if batch.job_id:
        # The dry run's job said "请查看报告后确认"; once confirmed it says what was done.
        from shared_apps.jobs.services import job_retell

        job_retell(
            job_id=batch.job_id,
            message=MSG_JOB_COMMITTED.format(
                written=written["written"], skipped=written["skipped"], who=actor.label
            ),
        )
    return written


def students_create_bulk(
    *,
    rows: list[tuple[int, dict[str, Any], list[dict[str, str]]]],
    actor: Actor,
    keys: Sequence[IdentityKeys] | None = None,
) -> dict[str, int]:
    """Set-based write of validated (row number, values, suspected look-alikes): students,
    family, history, problem records, index entries, all with COPY.

    Call inside a transaction. The import prepares its rows in the dry run and calls
    bulkwrite.prepared_write itself; this is the same write for callers holding values
    (demo data, tests, the benchmark). `keys` are the rows' identity keys when the caller
    has them already.
    """
    preparer = Preparer()
    prepared = prepare(((r, d) for r, d, _ in rows), keys, preparer)
    suspected = {i: s for i, (_, _, s) in enumerate(rows) if s}
    return prepared_write(prepared, suspected=suspected, classes=preparer.classes, actor=actor)
