"""查重 inside an uploaded file (registry.imports.pipeline's dry run): which identity a row
still shows when it is refused, the pairs of rows with the same ID number or alike by
name, and how such a pair is reported next to the 查重 against the index. The near keys
are not matched here but after the commit (registry.imports.near_check)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shared_apps.student_index.keys import (
    IdentityKeys,
    Rule,
    id_digest,
    identity_keys,
    match_kind,
)
from tenant_apps.registry.fields import BY_KEY

MSG_THIS_FILE = "本文件第 {row} 行"


def partial_keys(data: dict[str, Any], errors: Sequence[Any]) -> IdentityKeys | None:
    """What identity a refused row still shows: its resident ID number when that cell
    is sound, and its name+sex+birth date keys when those cells are. Exact keys only,
    like the dry run's valid rows: the near keys are matched after the commit
    (registry.imports.near_check), and a refused row is not written."""
    wrong = {e.key for e in errors}
    id_number = data.get("id_number")
    id_hash = ""
    if data.get("id_type") == "1" and isinstance(id_number, str) and "id_number" not in wrong:
        id_hash = id_digest(id_number)
    name, sex, birth = data.get("name"), data.get("sex"), data.get("birth_date")
    if isinstance(name, str) and isinstance(sex, str) and isinstance(birth, dt.date):
        full = identity_keys(name=name, sex=sex, birth_date=birth, id_number="", near=False)
        return IdentityKeys(id_hash, full.name_hash, full.pinyin_hash)
    if not id_hash:
        return None
    return IdentityKeys(id_hash=id_hash, name_hash="", pinyin_hash="")


@dataclass
class InFile:
    same_id: dict[int, int]  # row -> the first row with the same ID number
    alike: list[tuple[int, str, int]]  # (row, rule, other row): alike by a name key


def in_file_pairs(rows: Sequence[tuple[int, IdentityKeys]]) -> InFile:
    """查重 inside the file, over every row whose identity cells are readable, valid or
    not: the same ID number twice (the later rows are duplicates of the first), and
    pairs alike by name+sex+birth date or pinyin+birth date that keys.match_kind calls
    suspected (each row of such a pair is suspected, as 查重 against the index suspects a
    new row). Pairs alike only by a near key (a dialect near-homophone, a birth date a
    day off) are found after the commit, once the rows are in the index with their near
    keys (registry.imports.near_check); low-priority pairs are left to the nightly list."""
    ordered = sorted(rows, key=lambda r: r[0])
    first_of: dict[str, int] = {}
    same_id: dict[int, int] = {}
    for row_no, k in ordered:
        if not k.id_hash:
            continue
        if k.id_hash in first_of:
            same_id[row_no] = first_of[k.id_hash]
        else:
            first_of[k.id_hash] = row_no
    alike: list[tuple[int, str, int]] = []
    paired: set[tuple[int, int]] = set()
    rules: tuple[tuple[Rule, Callable[[IdentityKeys], Iterable[str]]], ...] = (
        ("name_sex_birth", lambda k: (k.name_hash,)),
        ("pinyin_birth", lambda k: (k.pinyin_hash,)),
    )
    for rule, values in rules:
        groups: dict[str, list[tuple[int, str]]] = {}
        for row_no, k in ordered:
            for value in values(k):
                if value:
                    groups.setdefault(value, []).append((row_no, k.id_hash))
        for members in groups.values():
            for a, (row_a, id_a) in enumerate(members):
                for row_b, id_b in members[a + 1 :]:
                    if (row_a, row_b) in paired or match_kind(rule, id_a, id_b) != "suspected":
                        continue  # already paired, the same ID (a duplicate) or low priority
                    paired.add((row_a, row_b))
                    alike.append((row_a, rule, row_b))
                    alike.append((row_b, rule, row_a))
    return InFile(same_id, alike)


def row_other(row_no: int) -> dict[str, str]:
    """The other record of an in-file pair, shown like a masked record of the index."""
    return {
        "school_name": MSG_THIS_FILE.format(row=row_no),
        "name": "",
        "id_number": "",
        "status": "",
        "row": str(row_no),
    }


def dup_error(row_no: int, message: str) -> dict[str, Any]:
    return {
        "row": row_no,
        "key": "id_number",
        "header": BY_KEY["id_number"].header,
        "value": "",
        "message": message,
        "kind": "duplicate",
    }
