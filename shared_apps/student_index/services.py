"""Writes and look-ups on the public student index.

Callers pass plain values; nothing here reads or returns a school's model instances.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from psycopg import sql

from common.copytext import copy_lines
from shared_apps.student_index.keys import IdentityKeys, Kind, Rule, match_kind
from shared_apps.student_index.live import counts_refresh
from shared_apps.student_index.models import IndexEntry, NumberSequence


@dataclass(frozen=True)
class IndexRecord:
    student_uuid: uuid.UUID
    keys: IdentityKeys
    stage: str
    entry_year: int
    sex: str
    ethnicity: str
    status: str
    audit_state: str
    has_problem: bool = False
    flags: int = 0  # registry.counts.flag_bits: bit i = counts.FLAG_KEYS[i]


def _entry(school_id: int, r: IndexRecord) -> IndexEntry:
    return IndexEntry(
        school_id=school_id,
        student_uuid=r.student_uuid,
        id_hash=r.keys.id_hash,
        name_hash=r.keys.name_hash,
        pinyin_hash=r.keys.pinyin_hash,
        near_hashes=list(r.keys.near_hashes),
        low_hashes=list(r.keys.low_hashes),
        stage=r.stage,
        entry_year=r.entry_year,
        sex=r.sex,
        ethnicity=r.ethnicity,
        status=r.status,
        audit_state=r.audit_state,
        has_problem=r.has_problem,
        flags=r.flags,
    )


UPDATE_FIELDS = [
    "school",
    "id_hash",
    "name_hash",
    "pinyin_hash",
    "near_hashes",
    "low_hashes",
    "stage",
    "entry_year",
    "sex",
    "ethnicity",
    "status",
    "audit_state",
    "has_problem",
    "flags",
]
BATCH_SIZE = 4000  # 14 columns a row: well under PostgreSQL's 65,535 parameters per statement
JIT_OFF_ABOVE = 1000  # candidates; see duplicates_find
NEAR_INDEX = "student_index_near_hashes"  # models.IndexEntry's GIN index


def _schools_of(student_uuids: list[uuid.UUID]) -> set[int]:
    """The schools whose entries these are (before a write that may move or drop them)."""
    return set(
        IndexEntry.objects.filter(student_uuid__in=student_uuids)
        .values_list("school_id", flat=True)
        .distinct()
    )


@transaction.atomic
def index_upsert(*, school_id: int, records: Sequence[IndexRecord]) -> None:
    """Insert or refresh entries; call inside the transaction that writes the students.
    An entry of another school is moved here; both schools' live counts are re-derived."""
    if not records:
        return
    before = _schools_of([r.student_uuid for r in records])
    IndexEntry.objects.bulk_create(
        [_entry(school_id, r) for r in records],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["student_uuid"],
        update_fields=UPDATE_FIELDS,
    )
    counts_refresh(school_ids=before | {school_id})


@transaction.atomic
def index_school_replace(*, school_id: int, records: Sequence[IndexRecord]) -> None:
    """Make the school's entries exactly `records`: its other entries are removed, these
    inserted or refreshed (the index resync after a restore or a found drift)."""
    IndexEntry.objects.filter(school_id=school_id).exclude(
        student_uuid__in=[r.student_uuid for r in records]
    ).delete()
    if records:
        index_upsert(school_id=school_id, records=records)  # re-derives the counts too
    else:
        counts_refresh(school_ids=[school_id])


# What a bulk writer can know of an entry before it is written, in COPY order; the rest
# (INDEX_LINE_COLUMNS' first four) only at the write. registry.imports.bulkwrite prepares the
# former in the import's dry run.
INDEX_PREPARED_COLUMNS = [
    "student_uuid",
    "id_hash",
    "name_hash",
    "pinyin_hash",
    "near_hashes",
    "low_hashes",
    "stage",
    "entry_year",
    "sex",
    "ethnicity",
    "status",
    "flags",
]
INDEX_LINE_COLUMNS = [
    "audit_state",
    "has_problem",
    "updated_at",
    "school_id",
    *INDEX_PREPARED_COLUMNS,
]


def _array(digests: Sequence[str]) -> str:
    """A uuid[] in COPY text (the digests are hex: nothing to quote or escape)."""
    return "{" + ",".join(digests) + "}"


def index_prepared_values(r: IndexRecord) -> list[object]:
    k = r.keys
    return [
        r.student_uuid,
        k.id_hash or None,  # NULL: no ID number (DigestField)
        k.name_hash,
        k.pinyin_hash,
        _array(k.near_hashes),
        _array(k.low_hashes),
        r.stage,
        r.entry_year,
        r.sex,
        r.ethnicity,
        r.status,
        r.flags,
    ]


def index_copy_prepared(*, school_id: int, lines: Iterable[str]) -> None:
    """COPY ready-made lines (INDEX_LINE_COLUMNS order, each ending in a newline) of new
    entries of the school into the index, in the caller's transaction (which must be
    open: the live counts are re-derived in it).

    Callers hand them in name_hash order: the index on that column then fills its pages
    in sequence instead of touching a random page for every row (48,500 rows into an
    index of 1,000,000 entries: median 3.6 s instead of 4.6 s; bench/RESULTS.md).
    """
    statement = sql.SQL("COPY public.{} ({}) FROM STDIN").format(
        sql.Identifier(IndexEntry._meta.db_table),
        sql.SQL(", ").join(map(sql.Identifier, INDEX_LINE_COLUMNS)),
    )
    copy_lines(statement, lines)
    counts_refresh(school_ids=[school_id])


KEY_FIELDS = ["id_hash", "name_hash", "pinyin_hash", "near_hashes", "low_hashes"]


def index_keys_refresh(*, school_id: int, records: Sequence[IndexRecord]) -> int:
    """Write the identity keys of these records onto the school's existing entries, one
    transaction per BATCH_SIZE (the re-key after the near keys were added, issue 19
    point 7: `manage.py index_rekey`). Touches no other column, so the live counts stand.
    Returns the number of entries re-keyed."""
    done = 0
    for start in range(0, len(records), BATCH_SIZE):
        chunk = {r.student_uuid: r.keys for r in records[start : start + BATCH_SIZE]}
        with transaction.atomic():
            entries = list(
                IndexEntry.objects.filter(school_id=school_id, student_uuid__in=list(chunk))
                .select_for_update()
                .only("pk", "student_uuid", *KEY_FIELDS)
            )
            for e in entries:
                k = chunk[e.student_uuid]
                e.id_hash, e.name_hash, e.pinyin_hash = k.id_hash, k.name_hash, k.pinyin_hash
                e.near_hashes, e.low_hashes = list(k.near_hashes), list(k.low_hashes)
            IndexEntry.objects.bulk_update(entries, KEY_FIELDS, batch_size=1000)
        done += len(entries)
    return done


def index_near_fill(*, school_id: int, keys: Sequence[tuple[uuid.UUID, IdentityKeys]]) -> int:
    """Write the near keys of these entries of the school (an import's rows, written
    with their exact keys only: registry.imports.near_check), set-based: one COPY into
    a temporary table and one UPDATE, in the caller's transaction (which must be open:
    the table is dropped at its commit). Touches no other column, so the live counts
    stand. Returns the number of entries written."""
    if not keys:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE index_near_fill"
            " (student_uuid uuid PRIMARY KEY, near_hashes uuid[], low_hashes uuid[])"
            " ON COMMIT DROP"
        )
        copy_lines(
            sql.SQL("COPY index_near_fill (student_uuid, near_hashes, low_hashes) FROM STDIN"),
            (f"{u}\t{_array(k.near_hashes)}\t{_array(k.low_hashes)}\n" for u, k in keys),
        )
        cursor.execute(
            "UPDATE public.student_index_indexentry e"
            " SET near_hashes = f.near_hashes, low_hashes = f.low_hashes"
            " FROM index_near_fill f WHERE e.student_uuid = f.student_uuid AND e.school_id = %s",
            [school_id],
        )
        written: int = cursor.rowcount
        cursor.execute("DROP TABLE index_near_fill")
    # The UPDATE left its GIN entries in the index's pending list (fastupdate); merged
    # now, in the background task that wrote them, rather than read by every probe of
    # every 查重 until autovacuum comes by.
    near_index_settle()
    return written


def near_index_settle() -> None:
    """Merge the pending list of the near keys' GIN index into its tree. Every probe
    reads the whole pending list (up to gin_pending_list_limit, 4 MB): after an import
    wrote 48,600 entries, the near-key look-up of 48,600 rows ran for minutes instead of
    seconds (bench/RESULTS.md). Cheap when the list is empty."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [f"public.{NEAR_INDEX}"])


@transaction.atomic
def index_remove(*, student_uuids: Iterable[uuid.UUID]) -> None:
    uuids = list(student_uuids)
    schools = _schools_of(uuids)
    IndexEntry.objects.filter(student_uuid__in=uuids).delete()
    counts_refresh(school_ids=schools)


@transaction.atomic
def index_set_state(*, student_uuids: Iterable[uuid.UUID], **fields: object) -> None:
    """Update these entries' fields; with `school_id` (a move) both the school they leave
    and the one they join have their live counts re-derived."""
    uuids = list(student_uuids)
    schools = _schools_of(uuids)
    IndexEntry.objects.filter(student_uuid__in=uuids).update(**fields)
    if "school_id" in fields or "school" in fields:
        schools |= _schools_of(uuids)
    counts_refresh(school_ids=schools)


@dataclass(frozen=True)
class Hit:
    """Another record that matches a candidate; no identity, only where it lives."""

    position: int  # index of the candidate in the caller's list
    kind: Kind  # 重复 / 疑似重复 / 低优先级 (keys.match_kind)
    rule: Rule
    school_id: int
    student_uuid: uuid.UUID


RULE_COLUMNS = {
    "id": "id_hash",
    "name_sex_birth": "name_hash",
    "pinyin_birth": "pinyin_hash",
    "near": "near_hashes",
    "low": "low_hashes",
}
ARRAY_RULES = frozenset({"near", "low"})
DEFAULT_RULES: tuple[Rule, ...] = ("id", "name_sex_birth", "pinyin_birth", "near")
_RANK = {"duplicate": 0, "suspected": 1, "low": 2}


def _candidate_keys(k: IdentityKeys, rule: str) -> Iterable[str]:
    if rule == "id":
        return (k.id_hash,) if k.id_hash else ()
    if rule == "name_sex_birth":
        return (k.name_hash,) if k.name_hash else ()
    if rule == "pinyin_birth":
        return (k.pinyin_hash,) if k.pinyin_hash else ()
    return k.near_hashes if rule == "near" else k.low_hashes


def duplicates_find(
    candidates: Sequence[IdentityKeys],
    *,
    exclude: Sequence[uuid.UUID | None] | None = None,
    rules: Iterable[Rule] = DEFAULT_RULES,
    low: bool = False,
) -> list[Hit]:
    """Set-based 查重 over every school: one statement, one indexed join per rule,
    whatever the batch size.

    The tier of each match is keys.match_kind's: same ID number anywhere is a duplicate
    (重复); same name+sex+birth date, pinyin+birth date or a near key (dialect-folded
    pinyin, a syllable cut; birth a day off or day/month swapped) with a missing ID number
    on one side is suspected (疑似重复); two different ID numbers, or a match on the low
    keys, is low priority (低优先级), returned only with `low=True` (it never blocks, and
    the callers that act on a hit, entry and import, leave it to the nightly list). The
    low keys carry no index (every import would pay for nine more GIN entries a row, and
    only the nightly grouping matches them, by unnesting), so `low=True` scans: it is
    for a handful of candidates, never a school's worth.
    `exclude[i]` is the candidate's own uuid when an existing record is re-checked.
    `rules` narrows the look-up (the import's final re-check needs only "id").
    """
    if not candidates:
        return []
    exclude = exclude or [None] * len(candidates)
    wanted = [r for r in RULE_COLUMNS if r in set(rules)]
    if low and "low" not in wanted:
        wanted.append("low")
    by_rule: dict[str, dict[str, list[int]]] = {r: {} for r in wanted}
    for i, k in enumerate(candidates):
        for rule in wanted:
            mine = by_rule[rule]
            for key in _candidate_keys(k, rule):
                mine.setdefault(key, []).append(i)
    # Each rule's keys travel as ONE comma-separated text parameter (the hashes are hex):
    # a 50,000-key batch costs one short bind instead of 50,000-element array literals,
    # slow to adapt and to plan. OFFSET 0 keeps the lateral subquery from being flattened,
    # so every key is one probe of its hash index whatever the statistics say; "= ANY" and
    # a plain join were planned as (parallel) sequential scans of the whole index table
    # for big batches (bench/RESULTS.md). The near keys are one GIN probe each
    # (`@> ARRAY[key]`).
    parts, params = [], []
    for rule in wanted:
        if not by_rule[rule]:
            continue
        column = RULE_COLUMNS[rule]
        match = (
            f"x.{column} @> ARRAY[k.key::uuid]"
            if rule in ARRAY_RULES
            else f"x.{column} = k.key::uuid"
        )
        parts.append(
            f"SELECT '{rule}', k.key, e.school_id, e.student_uuid, e.id_hash"
            " FROM unnest(string_to_array(%s, ',')) AS k(key) CROSS JOIN LATERAL ("
            "SELECT x.school_id, x.student_uuid, x.id_hash"
            f" FROM public.student_index_indexentry x WHERE {match} OFFSET 0) e"
        )
        # In key order: consecutive probes then walk the hash index's leaf pages in
        # sequence instead of jumping to a random page each (fewer pages to fetch when
        # the index is bigger than shared_buffers; bench/RESULTS.md).
        params.append(",".join(sorted(by_rule[rule])))
    if not parts:
        return []
    big = len(candidates) > JIT_OFF_ABOVE
    if big and "near" in wanted:
        near_index_settle()  # one merge instead of every probe reading the pending list
    with transaction.atomic() if big else contextlib.nullcontext(), connection.cursor() as cursor:
        if big:
            # The estimate of a 50,000-key batch is far above jit_above_cost, and compiling
            # the plan took 0.1 s of 0.6 (PostgreSQL 15) for probes that are index look-ups.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    hits: dict[tuple[int, uuid.UUID], Hit] = {}
    for rule, key, school_id, other_uuid, other_uuid_hash in rows:
        other_id_hash = other_uuid_hash.hex if other_uuid_hash is not None else ""
        for i in by_rule[rule][key]:
            if exclude[i] == other_uuid:
                continue
            kind = match_kind(rule, candidates[i].id_hash, other_id_hash)
            if kind is None or (kind == "low" and not low):
                continue
            current = hits.get((i, other_uuid))
            if current is None or _RANK[kind] < _RANK[current.kind]:
                hits[(i, other_uuid)] = Hit(i, kind, rule, school_id, other_uuid)
    return sorted(hits.values(), key=lambda h: (h.position, _RANK[h.kind]))


@transaction.atomic
def national_number_next(*, letter: str, area: str, birth: str) -> int:
    """Next sequence number for L/J numbers with this area and birth date (row-locked)."""
    prefix = f"{letter}{area}{birth}"
    NumberSequence.objects.get_or_create(prefix=prefix)
    seq = NumberSequence.objects.select_for_update().get(prefix=prefix)
    seq.last += 1
    seq.save(update_fields=["last"])
    return seq.last


# -- exact dump and restore (the undo of a merge of duplicates, registry.merge) ----------


def _plain(value: object) -> object:
    """A column value as JSON can hold it without loss (datetimes keep microseconds)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def index_entries_dump(*, student_uuids: Iterable[uuid.UUID]) -> list[dict[str, object]]:
    """These entries, every column (the last-change time too), as JSON-safe values."""
    fields = [f.attname for f in IndexEntry._meta.concrete_fields]
    return [
        {k: _plain(v) for k, v in row.items()}
        for row in IndexEntry.objects.filter(student_uuid__in=list(student_uuids))
        .order_by("pk")
        .values(*fields)
    ]


@transaction.atomic
def index_entries_restore(
    *, student_uuids: Iterable[uuid.UUID], rows: Sequence[dict[str, object]]
) -> None:
    """Make the entries of these students exactly `rows` (from index_entries_dump): the
    others are removed, these written back with their own ids and times; every school
    concerned has its live counts re-derived."""
    uuids = list(student_uuids)
    schools = _schools_of(uuids)
    IndexEntry.objects.filter(student_uuid__in=uuids).delete()
    fields = list(IndexEntry._meta.concrete_fields)
    for row in rows:
        columns = sql.SQL(", ").join([sql.Identifier(str(f.column)) for f in fields])
        statement = sql.SQL("INSERT INTO public.{} ({}) VALUES ({})").format(
            sql.Identifier(IndexEntry._meta.db_table),
            columns,
            sql.SQL(", ").join([sql.Placeholder()] * len(fields)),
        )
        params = [f.get_db_prep_save(f.to_python(row.get(f.attname)), connection) for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
        schools.add(int(str(row["school_id"])))
    counts_refresh(school_ids=schools)
