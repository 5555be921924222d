"""The one diff of an outside roster against the registry (issue 18 point 4, domain §3.10):
who is only in the registry, who is only in the roster, and who is in both with a key
field (name, sex, birth date, ID number) that differs.

Used for the county's admitted list (rosters.admissions) and for a nutrition roster
(rosters.admissions_views.upload_diff_view). Plain values in, plain values out: it reads
nothing and works the same inside a school or for the county's walk over its schools.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from shared_apps.student_index.keys import normalize_name

# The key fields compared, in the order a mismatch lists them.
KEY_FIELDS = ("name", "sex", "birth_date", "id_number")
FIELD_LABELS = {"name": "姓名", "sex": "性别", "birth_date": "出生日期", "id_number": "身份证件号"}
SEX_LABELS = {"1": "男", "2": "女"}


@dataclass(frozen=True)
class Person:
    """One person of either side. `ref` says where it is (the roster's row number, the
    registry's student id); `place` is shown (the roster's 年级班级, the student's class)."""

    ref: str
    name: str
    sex: str = ""  # "1" / "2" / ""
    birth_date: dt.date | None = None
    id_number: str = ""
    place: str = ""

    def value(self, key: str) -> str:
        if key == "birth_date":
            return f"{self.birth_date:%Y-%m-%d}" if self.birth_date else ""
        if key == "sex":
            return SEX_LABELS.get(self.sex, self.sex)
        return str(getattr(self, key) or "")


@dataclass(frozen=True)
class Mismatch:
    key: str
    label: str
    listed: str  # the roster's value (raw: the caller masks it for showing)
    registry: str


@dataclass(frozen=True)
class Pair:
    listed: Person
    registry: Person
    fields: tuple[Mismatch, ...]


@dataclass(frozen=True)
class Diff:
    only_registry: tuple[Person, ...]
    only_listed: tuple[Person, ...]
    mismatched: tuple[Pair, ...]
    matched: int  # pairs found, with or without a mismatch
    kinds: dict[str, int] = field(default_factory=dict)  # mismatches per key field

    @property
    def counts(self) -> dict[str, int]:
        return {
            "only_registry": len(self.only_registry),
            "only_listed": len(self.only_listed),
            "mismatched": len(self.mismatched),
            "matched": self.matched,
        }


def _id(p: Person) -> str:
    return p.id_number.strip().upper()


def _name(p: Person) -> str:
    return normalize_name(p.name)


def _pass(
    listed: list[Person],
    registry: list[Person],
    key: Callable[[Person], Hashable],
    pairs: list[tuple[Person, Person]],
) -> tuple[list[Person], list[Person]]:
    """Pair the people whose `key` is set and unique on both sides; the rest stay."""

    def by_key(people: Iterable[Person]) -> dict[Hashable, list[Person]]:
        out: dict[Hashable, list[Person]] = {}
        for p in people:
            k = key(p)
            if k:
                out.setdefault(k, []).append(p)
        return out

    left, right = by_key(listed), by_key(registry)
    used_l: set[int] = set()
    used_r: set[int] = set()
    for k, ls in left.items():
        rs = right.get(k)
        # A key two people share on one side pairs nobody: guessing would hide a difference.
        if rs is not None and len(ls) == 1 and len(rs) == 1:
            pairs.append((ls[0], rs[0]))
            used_l.add(id(ls[0]))
            used_r.add(id(rs[0]))
    return (
        [p for p in listed if id(p) not in used_l],
        [p for p in registry if id(p) not in used_r],
    )


def _differs(a: Person, b: Person, key: str) -> bool:
    if key == "name":
        return _name(a) != _name(b)
    if key == "id_number":
        return _id(a) != _id(b)
    return a.value(key) != b.value(key)


def roster_diff(listed: Sequence[Person], registry: Sequence[Person]) -> Diff:
    """Pair the roster's people with the registry's, then compare their key fields.

    Pairing, each pass only among those not paired yet and only on a key unique on both
    sides: the ID number; then name and birth date; then name and sex. So a typo in
    one key field still finds its person and shows up as that field's mismatch, while
    two people sharing a name are not guessed at. A roster field left empty is not a
    mismatch (the roster did not say), except the ID number a registry record has and
    the roster lacks."""
    pairs: list[tuple[Person, Person]] = []
    left, right = list(listed), list(registry)
    left, right = _pass(left, right, _id, pairs)
    left, right = _pass(
        left, right, lambda p: (_name(p), p.birth_date) if p.birth_date else None, pairs
    )
    left, right = _pass(left, right, lambda p: (_name(p), p.sex) if p.sex else None, pairs)
    mismatched: list[Pair] = []
    kinds: dict[str, int] = {}
    for a, b in pairs:
        fields = tuple(
            Mismatch(k, FIELD_LABELS[k], a.value(k), b.value(k))
            for k in KEY_FIELDS
            if (a.value(k) or k == "id_number") and _differs(a, b, k)
        )
        if fields:
            mismatched.append(Pair(a, b, fields))
            for f in fields:
                kinds[f.key] = kinds.get(f.key, 0) + 1
    order = {p.ref: n for n, p in enumerate(listed)}
    mismatched.sort(key=lambda pair: order.get(pair.listed.ref, 0))
    return Diff(
        only_registry=tuple(right),
        only_listed=tuple(left),
        mismatched=tuple(mismatched),
        matched=len(pairs),
        kinds=kinds,
    )
