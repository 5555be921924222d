"""Writes and look-ups on the public student index.

Callers pass plain values; nothing here reads or returns a school's model instances.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from django.db import connection, transaction

from shared_apps.student_index.keys import IdentityKeys
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


def _entry(school_id: int, r: IndexRecord) -> IndexEntry:
    return IndexEntry(
        school_id=school_id,
        student_uuid=r.student_uuid,
        id_hash=r.keys.id_hash,
        name_hash=r.keys.name_hash,
        pinyin_hash=r.keys.pinyin_hash,
        stage=r.stage,
        entry_year=r.entry_year,
        sex=r.sex,
        ethnicity=r.ethnicity,
        status=r.status,
        audit_state=r.audit_state,
        has_problem=r.has_problem,
    )


UPDATE_FIELDS = [
    "school",
    "id_hash",
    "name_hash",
    "pinyin_hash",
    "stage",
    "entry_year",
    "sex",
    "ethnicity",
    "status",
    "audit_state",
    "has_problem",
]
BATCH_SIZE = 5000  # 11 columns a row: well under PostgreSQL's 65,535 parameters per statement


def index_upsert(*, school_id: int, records: Sequence[IndexRecord]) -> None:
    """Insert or refresh entries; call inside the transaction that writes the students."""
    IndexEntry.objects.bulk_create(
        [_entry(school_id, r) for r in records],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["student_uuid"],
        update_fields=UPDATE_FIELDS,
    )


def index_remove(*, student_uuids: Iterable[uuid.UUID]) -> None:
    IndexEntry.objects.filter(student_uuid__in=list(student_uuids)).delete()


def index_set_state(*, student_uuids: Iterable[uuid.UUID], **fields: object) -> None:
    IndexEntry.objects.filter(student_uuid__in=list(student_uuids)).update(**fields)


@dataclass(frozen=True)
class Hit:
    """Another record that matches a candidate; no identity, only where it lives."""

    position: int  # index of the candidate in the caller's list
    kind: Literal["duplicate", "suspected"]  # 重复 / 疑似重复
    rule: Literal["id", "name_sex_birth", "pinyin_birth"]
    school_id: int
    student_uuid: uuid.UUID


def duplicates_find(
    candidates: Sequence[IdentityKeys], *, exclude: Sequence[uuid.UUID | None] | None = None
) -> list[Hit]:
    """Set-based 查重 over every school: three indexed queries whatever the batch size.

    Same ID number anywhere is a duplicate (重复). Same name+sex+birth date, or same
    pinyin+birth date, with a different or missing ID number is suspected (疑似重复).
    `exclude[i]` is the candidate's own uuid when an existing record is re-checked.
    """
    if not candidates:
        return []
    exclude = exclude or [None] * len(candidates)
    by_id: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    by_pinyin: dict[str, list[int]] = {}
    for i, k in enumerate(candidates):
        if k.id_hash:
            by_id.setdefault(k.id_hash, []).append(i)
        by_name.setdefault(k.name_hash, []).append(i)
        by_pinyin.setdefault(k.pinyin_hash, []).append(i)
    sql = """
        SELECT 'id' AS rule, e.id_hash AS key, e.school_id, e.student_uuid, e.id_hash
          FROM public.student_index_indexentry e WHERE e.id_hash = ANY(%s)
        UNION ALL
        SELECT 'name_sex_birth', e.name_hash, e.school_id, e.student_uuid, e.id_hash
          FROM public.student_index_indexentry e WHERE e.name_hash = ANY(%s)
        UNION ALL
        SELECT 'pinyin_birth', e.pinyin_hash, e.school_id, e.student_uuid, e.id_hash
          FROM public.student_index_indexentry e WHERE e.pinyin_hash = ANY(%s)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(by_id), list(by_name), list(by_pinyin)])
        rows = cursor.fetchall()
    hits: dict[tuple[int, uuid.UUID], Hit] = {}
    for rule, key, school_id, other_uuid, other_id_hash in rows:
        positions = {"id": by_id, "name_sex_birth": by_name, "pinyin_birth": by_pinyin}[rule][key]
        for i in positions:
            if exclude[i] == other_uuid:
                continue
            own_id = candidates[i].id_hash
            if rule == "id":
                kind: Literal["duplicate", "suspected"] = "duplicate"
            elif own_id and other_id_hash == own_id:
                continue  # already reported by the ID rule
            else:
                kind = "suspected"
            current = hits.get((i, other_uuid))
            if current is None or (current.kind == "suspected" and kind == "duplicate"):
                hits[(i, other_uuid)] = Hit(i, kind, rule, school_id, other_uuid)  # type: ignore[arg-type]
    return sorted(hits.values(), key=lambda h: (h.position, h.kind != "duplicate"))


@transaction.atomic
def national_number_next(*, letter: str, area: str, birth: str) -> int:
    """Next sequence number for L/J numbers with this area and birth date (row-locked)."""
    prefix = f"{letter}{area}{birth}"
    NumberSequence.objects.get_or_create(prefix=prefix)
    seq = NumberSequence.objects.select_for_update().get(prefix=prefix)
    seq.last += 1
    seq.save(update_fields=["last"])
    return seq.last
