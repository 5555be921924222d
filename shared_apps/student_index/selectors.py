from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection

from shared_apps.student_index.keys import match_kind

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Flag:
    """One record that shares an identity key with records elsewhere."""

    school_id: int
    student_uuid: uuid.UUID
    kind: str  # "duplicate", "suspected" or "low" (keys.match_kind)
    others: tuple[tuple[int, uuid.UUID], ...]  # (school_id, uuid) of the matching records


# One grouped scan per key; the near keys are unnested (a record holds several). A group
# that only the ID rule would report (every member with the same ID) is left out here,
# and the tier of each pair inside a group is keys.match_kind's, decided in Python.
_GROUP = """
    SELECT '{rule}', array_agg(e.school_id), array_agg(e.student_uuid), array_agg(e.id_hash)
      FROM public.student_index_indexentry e {join}
     WHERE {where} {scope}
     GROUP BY {key}
    HAVING count(*) > 1 {having}
"""
_SOME_WITHOUT_ID = "bool_or(e.id_hash IS NULL)"
_NOT_ONE_ID = f"AND (count(DISTINCT e.id_hash) > 1 OR {_SOME_WITHOUT_ID})"
_GROUPS = {
    "id": {"join": "", "where": "e.id_hash IS NOT NULL", "key": "e.id_hash", "having": ""},
    "name_sex_birth": {"join": "", "where": "true", "key": "e.name_hash", "having": _NOT_ONE_ID},
    "pinyin_birth": {"join": "", "where": "true", "key": "e.pinyin_hash", "having": _NOT_ONE_ID},
    "near": {
        "join": "CROSS JOIN LATERAL unnest(e.near_hashes) AS h(key)",
        "where": "true",
        "key": "h.key",
        "having": _NOT_ONE_ID,
    },
    # Two ID numbers and only a low key: not listed (match_kind), so one must lack it.
    "low": {
        "join": "CROSS JOIN LATERAL unnest(e.low_hashes) AS h(key)",
        "where": "true",
        "key": "h.key",
        "having": f"AND {_SOME_WITHOUT_ID}",
    },
}


def duplicate_groups_sql(*, scope: str = "", low: bool = True) -> str:
    rules = [r for r in _GROUPS if low or r != "low"]
    return " UNION ALL ".join(_GROUP.format(rule=r, scope=scope, **_GROUPS[r]) for r in rules)


DUPLICATE_GROUPS_SQL = duplicate_groups_sql(scope="{scope}")
_RANK = {"duplicate": 0, "suspected": 1, "low": 2}


def duplicate_flags(*, school_ids: list[int] | None = None, low: bool = False) -> list[Flag]:
    """Every record of a duplicate group (same ID number; or alike by name+sex+birth
    date, pinyin+birth date (梓涵/子涵) or a near key), with the tier keys.match_kind
    gives each pair: the same keys and decision as 查重 at entry and in an import, found
    with one grouped scan of the index per key. A record in several groups is flagged
    once, with every other record of its groups of the strongest kind. With `low`, the
    low-priority matches (never a 问题学籍) come too, as kind "low"."""
    scope = "AND e.school_id = ANY(%s)" if school_ids is not None else ""
    sql = duplicate_groups_sql(scope=scope, low=low)
    params = [school_ids] * sql.count("%s") if school_ids is not None else []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        groups = cursor.fetchall()
    best: dict[uuid.UUID, tuple[int, str, list[tuple[int, uuid.UUID]]]] = {}
    for rule, schools, uuids, id_hashes in groups:
        members = [
            (school_id, u, h.hex if h is not None else "")
            for school_id, u, h in zip(schools, uuids, id_hashes, strict=True)
        ]
        for a, (school_a, uuid_a, id_a) in enumerate(members):
            for school_b, uuid_b, id_b in members[a + 1 :]:
                kind = match_kind(rule, id_a, id_b)
                if kind is None or (kind == "low" and not low):
                    continue
                for school, me, other in (
                    (school_a, uuid_a, (school_b, uuid_b)),
                    (school_b, uuid_b, (school_a, uuid_a)),
                ):
                    current = best.get(me)
                    if current is None or _RANK[kind] < _RANK[current[1]]:
                        best[me] = (school, kind, [other])
                    elif current[1] == kind and other not in current[2]:
                        current[2].append(other)
    return [Flag(school, u, kind, tuple(others)) for u, (school, kind, others) in best.items()]


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
