from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Flag:
    """One record that shares an identity key with records elsewhere."""

    school_id: int
    student_uuid: uuid.UUID
    kind: str  # "duplicate" or "suspected"
    others: tuple[tuple[int, uuid.UUID], ...]  # (school_id, uuid) of the matching records


DUPLICATE_GROUPS_SQL = """
    SELECT 'duplicate', array_agg(school_id), array_agg(student_uuid)
      FROM public.student_index_indexentry
     WHERE id_hash IS NOT NULL {scope}
     GROUP BY id_hash HAVING count(*) > 1
    UNION ALL
    SELECT 'suspected', array_agg(school_id), array_agg(student_uuid)
      FROM public.student_index_indexentry
     WHERE true {scope}
     GROUP BY name_hash
    HAVING count(*) > 1 AND (count(DISTINCT id_hash) > 1 OR bool_or(id_hash IS NULL))
    UNION ALL
    SELECT 'suspected', array_agg(school_id), array_agg(student_uuid)
      FROM public.student_index_indexentry
     WHERE true {scope}
     GROUP BY pinyin_hash
    HAVING count(*) > 1 AND (count(DISTINCT id_hash) > 1 OR bool_or(id_hash IS NULL))
"""


def duplicate_flags(*, school_ids: list[int] | None = None) -> list[Flag]:
    """Every record of a duplicate group (same ID number; or same name+sex+birth date, or
    same pinyin+birth date (梓涵/子涵), with different or missing ID numbers): the same
    three keys as 查重 at entry and in an import, found with three grouped scans of the
    index. A record in several groups is flagged once, with every other record of its
    groups of the strongest kind."""
    scope = "AND school_id = ANY(%s)" if school_ids is not None else ""
    params = [school_ids] * 3 if school_ids is not None else []
    with connection.cursor() as cursor:
        cursor.execute(DUPLICATE_GROUPS_SQL.format(scope=scope), params)
        groups = cursor.fetchall()
    flags: dict[uuid.UUID, Flag] = {}
    for kind, schools, uuids in groups:
        members = list(zip(schools, uuids, strict=True))
        for school_id, student_uuid in members:
            others = tuple(m for m in members if m[1] != student_uuid)
            current = flags.get(student_uuid)
            if current is None or (current.kind == "suspected" and kind == "duplicate"):
                flags[student_uuid] = Flag(school_id, student_uuid, kind, others)
            elif current.kind == kind:
                # The name group and the pinyin group overlap: one flag, every other once.
                merged = current.others + tuple(m for m in others if m not in current.others)
                flags[student_uuid] = Flag(school_id, student_uuid, kind, merged)
    return list(flags.values())


def index_holders(*, id_hash: str, stage: str | None = None) -> list[tuple[int, uuid.UUID]]:
    """(school id, student uuid) of every index entry with this ID-number hash, of one
    stage when given: where a cross-school look-up has to peek."""
    from shared_apps.student_index.models import IndexEntry

    entries = IndexEntry.objects.filter(id_hash=id_hash)
    if stage is not None:
        entries = entries.filter(stage=stage)
    return list(entries.values_list("school_id", "student_uuid"))


def index_holds(*, student_uuid: uuid.UUID, school_id: int) -> bool:
    """Whether the index places the student in that school."""
    from shared_apps.student_index.models import IndexEntry

    return IndexEntry.objects.filter(student_uuid=student_uuid, school_id=school_id).exists()
