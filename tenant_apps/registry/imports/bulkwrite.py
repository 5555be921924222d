"""The import's set-based write, split in two: rows made ready in the dry run, written
with COPY at confirmation.

Everything a student row holds that does not depend on the moment of confirmation (all
the template's fields, class, initials, the uuid) is turned into PostgreSQL COPY text
while the dry run validates the row, in whichever process validated it (common.forking).
What only the confirmation knows is put in front of that text then: the primary key
drawn from the table's sequence, the temporary L number, the audit state (问题学籍 when
查重 found a suspected twin) and the time stamps. So the confirmation's Python is a few
string joins per row and the rest is PostgreSQL (bench/RESULTS.md).

The values follow the single-entry path's rules: a column plan read off `_apply` (and
checked against `_apply` and `index_record` on every 50th row, stopping the import on any
difference), and `_member_rows` as `services._members` does it; tests and
bench/import.py compare what lands in the tables with what the ORM path writes.
"""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import connection
from django.db.models.base import ModelState
from django.utils import timezone
from psycopg import sql

from common.actor import Actor
from common.copytext import copy_line, copy_lines, copy_value
from common.exceptions import ApplicationError
from shared_apps.student_index.keys import IdentityKeys, name_initials
from shared_apps.student_index.services import (
    IndexRecord,
    duplicates_find,
    index_copy_prepared,
    index_prepared_values,
)
from tenant_apps.registry import counts
from tenant_apps.registry.models import FamilyMember, ProblemRecord, SchoolClass, Student
from tenant_apps.registry.students.services import (
    _MEMBER_NULLABLE,
    _STUDENT_EMPTY,
    MEMBER_FIELDS,
    STUDENT_FIELDS,
    _apply,
    aux_number_refuse_locked,
    class_map,
    current_school,
    event_add,
    index_record,
    keys_of,
    school_writers_queue,
    temporary_numbers,
)

MSG_CLASS_GONE = "第{row}行：班级 {class_no} 在校验之后已被删除或更改，请重新上传文件。"

# -- prepared rows -----------------------------------------------------------------------

# Student columns filled only at confirmation, in the order the COPY lists them first.
STUDENT_LATE_COLUMNS = ["id", "national_number", "audit_state", "created_at", "updated_at"]


def student_prepared_columns() -> list[str]:
    """The columns of Prepared.student, in their order (every other concrete column)."""
    late = set(STUDENT_LATE_COLUMNS)
    return [f.column for f in Student._meta.concrete_fields if f.column not in late]  # type: ignore[misc]


@dataclass
class Prepared:
    """Valid rows ready for COPY, one list per attribute (cheap to pickle and to merge).

    `student`, `members` and `index` are COPY text without the columns the confirmation
    adds (STUDENT_LATE_COLUMNS; the member's student id; the index entry's school, audit
    state and time)."""

    row_no: list[int] = field(default_factory=list)
    id_hash: list[str] = field(default_factory=list)
    name_hash: list[str] = field(default_factory=list)
    pinyin_hash: list[str] = field(default_factory=list)
    near_hashes: list[tuple[str, ...]] = field(default_factory=list)
    low_hashes: list[tuple[str, ...]] = field(default_factory=list)
    birth: list[dt.date] = field(default_factory=list)
    class_no: list[str] = field(default_factory=list)
    aux_number: list[str] = field(default_factory=list)
    student: list[str] = field(default_factory=list)
    members: list[tuple[str, ...]] = field(default_factory=list)
    index: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.row_no)

    def keys(self) -> list[IdentityKeys]:
        return list(
            map(
                IdentityKeys,
                self.id_hash,
                self.name_hash,
                self.pinyin_hash,
                self.near_hashes,
                self.low_hashes,
            )
        )

    def extend(self, other: Prepared) -> None:
        for f in fields(self):
            getattr(self, f.name).extend(getattr(other, f.name))

    def take(self, positions: Sequence[int]) -> Prepared:
        """The rows at `positions`, in that order."""
        if list(positions) == list(range(len(self))):
            return self
        return Prepared(
            **{f.name: [getattr(self, f.name)[i] for i in positions] for f in fields(self)}
        )

    def as_state(self) -> dict[str, list[Any]]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_state(cls, state: dict[str, list[Any]]) -> Prepared:
        # A dry run made before the near keys (issue 19 point 7) has none: empty ones.
        n = len(state["row_no"])
        empty = [()] * n
        return cls(**{f.name: list(state.get(f.name, empty)) for f in fields(cls)})


class Preparer:
    """Turns validated rows into Prepared rows; built once per import, before any fork,
    so every process uses the same class map and defaults.

    A student's values are read straight from the validated dict by a plan made here
    (which key feeds which column, and what an empty cell becomes), about a fifth of the
    cost of filling a model instance with `_apply` per row. `_apply` stays the rule: every
    RECORD_CHECK_EVERY-th row is also built through it, and any difference stops the
    import (tests compare every column of every row as well).
    """

    RECORD_CHECK_EVERY = 50

    def __init__(self) -> None:
        self.class_by_id = {c.pk: c for c in SchoolClass.objects.all()}
        self.classes = {c.class_no: c.pk for c in self.class_by_id.values()}  # = class_map()
        model_fields = Student._meta.concrete_fields
        late = set(STUDENT_LATE_COLUMNS)
        attnames = [f.attname for f in model_fields if f.column not in late]
        self._values = operator.itemgetter(*attnames)
        # Callable defaults give every student its own value (identifier: uuid4).
        self._fresh = [f for f in model_fields if f.has_default() and callable(f.default)]
        fresh = {f.attname for f in self._fresh}
        self._base = {
            f.attname: None if f.column in late else f.get_default()
            for f in model_fields
            if f.attname not in fresh
        }
        self._base["number_kind"] = Student.NumberKind.TEMPORARY
        # Choices members as the plain text they are, for copy_line's fast path.
        for name, value in self._base.items():
            if isinstance(value, str) and type(value) is not str:
                self._base[name] = str.__str__(value)
        self.status = self._base["status"]  # what every imported student starts with
        self._class_cache = Student._meta.get_field("school_class")
        self._count = 0
        self._plan(attnames)

    def _plan(self, attnames: list[str]) -> None:
        """Per column: the data key it is read from and what an empty cell becomes, as
        `_apply` does it; columns `_apply` does not set keep their defaults."""
        empties = dict(zip(STUDENT_FIELDS, _STUDENT_EMPTY, strict=True))
        empties |= {"id_number": "", "aux_number": "", "number_in_class": None}
        computed = {"identifier", "school_class_id", "name_initials"}
        self._keys = [a if a in empties or a in _REQUIRED else _NO_KEY for a in attnames]
        self._empties = [
            empties.get(a) if a in empties or a in _REQUIRED else self._base.get(a)
            for a in attnames
        ]
        for a in computed:
            self._keys[attnames.index(a)] = _NO_KEY
        self._at = {
            a: attnames.index(a)
            for a in (*computed, "birth_date", "sex", "ethnicity", *counts.FLAG_SOURCE_FIELDS)
        }

    def row(self, data: dict[str, Any]) -> list[Any]:
        """The student's values in Prepared.student's column order."""
        get = data.get
        values = [
            empty if v is None else v
            for v, empty in zip(map(get, self._keys), self._empties, strict=True)
        ]
        at = self._at
        values[at["identifier"]] = uuid.uuid4()
        values[at["school_class_id"]] = self.classes[data["class_no"]]
        values[at["name_initials"]] = name_initials(data["name"])
        return values

    def student(self, data: dict[str, Any]) -> Student:
        """A bare student (no Model.__init__) filled by `_apply` as single entry would."""
        student = Student.__new__(Student)
        student._state = ModelState()
        state = student.__dict__
        state.update(self._base)
        for f in self._fresh:
            state[f.attname] = f.get_default()
        _apply(student, data, self.classes)
        self._class_cache.set_cached_value(student, self.class_by_id[student.school_class_id])
        return student

    def add(self, out: Prepared, row_no: int, data: dict[str, Any], keys: IdentityKeys) -> None:
        values = self.row(data)
        at = self._at
        klass = self.class_by_id[values[at["school_class_id"]]]
        record = IndexRecord(
            student_uuid=values[at["identifier"]],
            keys=keys,
            stage=klass.stage,
            entry_year=klass.entry_year,
            sex=values[at["sex"]],
            ethnicity=values[at["ethnicity"]] or "",
            status=self.status,  # type: ignore[arg-type]
            audit_state=Student.Audit.DRAFT,
            flags=counts.flag_bits({f: values[at[f]] for f in counts.FLAG_SOURCE_FIELDS}),
        )
        self._count += 1
        if self._count % self.RECORD_CHECK_EVERY == 1:
            self._check(row_no, data, keys, values, record)
        out.row_no.append(row_no)
        out.id_hash.append(keys.id_hash)
        out.name_hash.append(keys.name_hash)
        out.pinyin_hash.append(keys.pinyin_hash)
        out.near_hashes.append(keys.near_hashes)
        out.low_hashes.append(keys.low_hashes)
        out.birth.append(values[at["birth_date"]])
        out.class_no.append(data["class_no"])
        out.aux_number.append(data.get("aux_number") or "")
        out.student.append(copy_line(values))
        out.members.append(tuple(copy_line(m) for m in _member_rows(data)))
        out.index.append(copy_line(index_prepared_values(record)))

    def _check(
        self,
        row_no: int,
        data: dict[str, Any],
        keys: IdentityKeys,
        values: list[Any],
        record: IndexRecord,
    ) -> None:
        """The row as `_apply` and index_record make it must be the row made here."""
        s = self.student(data)
        s.identifier = values[self._at["identifier"]]
        s.audit_state = Student.Audit.DRAFT
        if list(self._values(s.__dict__)) != values:
            raise RuntimeError(f"student row {row_no} differs from what _apply makes")
        if index_record(s, keys) != record:
            raise RuntimeError(f"index entry of row {row_no} differs from index_record")


_NO_KEY = "\0no such key"  # a data key no row has: the column keeps its default
_REQUIRED = ("name", "sex", "birth_date", "entry_year_month")  # set by _apply as given


# Per slot: the row's keys (m1_name, ...) and the positions of the fields whose empty cell
# is stored as "" rather than NULL (as services._members does).
_MEMBER_SLOTS = [
    (
        slot,
        [f"m{slot}_{f}" for f in MEMBER_FIELDS],
        [n for n, f in enumerate(MEMBER_FIELDS) if f not in _MEMBER_NULLABLE],
    )
    for slot in (1, 2)
]
MEMBER_COPY_COLUMNS = [
    "student_id",
    "slot",
    *(FamilyMember._meta.get_field(f).column for f in MEMBER_FIELDS),  # type: ignore[union-attr]
]


def _member_rows(data: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """What services._members makes for a student, as (slot, fields): a slot with every
    cell empty (None or "") is no member."""
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
        yield (str(slot), *values)


def prepare(
    rows: Iterable[tuple[int, dict[str, Any]]],
    keys: Iterable[IdentityKeys] | None = None,
    preparer: Preparer | None = None,
) -> Prepared:
    preparer = preparer or Preparer()
    out = Prepared()
    rows = list(rows)
    for (row_no, data), k in zip(rows, keys or map(keys_of, (d for _, d in rows)), strict=True):
        preparer.add(out, row_no, data, k)
    return out


# -- the write -----------------------------------------------------------------------------


def prepared_write(
    rows: Prepared,
    *,
    suspected: dict[int, list[dict[str, str]]],
    classes: dict[str, int],
    actor: Actor,
) -> dict[str, int]:
    """Write prepared rows: index entries, students, family, problem records, history.

    Call inside a transaction (import_confirm's). `suspected` maps a row's position to
    the masked records 查重 found like it (the row becomes 问题学籍); `classes` is the class
    map the rows were prepared with. ID duplicates are checked once more: a record
    registered elsewhere since the dry run is skipped, not duplicated.
    """
    # Before any row of the school is written (school_writers_queue says why).
    school_writers_queue(current_school().id)
    aux_number_refuse_locked(
        (f"第{r}行", c, a)
        for r, c, a in zip(rows.row_no, rows.class_no, rows.aux_number, strict=True)
        if a
    )
    now_classes = class_map()
    for r, c in zip(rows.row_no, rows.class_no, strict=True):
        if now_classes.get(c) != classes.get(c):
            raise ApplicationError(MSG_CLASS_GONE.format(row=r, class_no=c), code="state")
    taken = {h.position for h in duplicates_find(rows.keys(), rules=("id",))}
    keep = [i for i in range(len(rows)) if i not in taken]
    if not keep:
        return {"written": 0, "skipped": len(taken)}
    school = current_school()
    kept = rows.take(keep)
    problem = [keep[n] in suspected for n in range(len(keep))]
    numbers = temporary_numbers(school.area, kept.birth)
    ids = _ids_reserve(len(keep))
    now = copy_value(timezone.now())
    draft, flagged = Student.Audit.DRAFT.value, Student.Audit.PROBLEM.value

    order = sorted(range(len(keep)), key=kept.name_hash.__getitem__)
    # Lines in INDEX_LINE_COLUMNS order: audit state, has_problem, time, school, rest.
    head = {True: f"{flagged}\tt\t{now}\t{school.id}\t", False: f"{draft}\tf\t{now}\t{school.id}\t"}
    index_copy_prepared(
        school_id=school.id, lines=(f"{head[problem[n]]}{kept.index[n]}\n" for n in order)
    )
    _copy_text(
        Student._meta.db_table,
        [*STUDENT_LATE_COLUMNS, *student_prepared_columns()],
        (
            f"{ids[n]}\t{numbers[n]}\t{flagged if problem[n] else draft}\t{now}\t{now}\t{text}\n"
            for n, text in enumerate(kept.student)
        ),
    )
    _copy_text(
        FamilyMember._meta.db_table,
        MEMBER_COPY_COLUMNS,  # type: ignore[arg-type]
        (f"{ids[n]}\t{m}\n" for n, members in enumerate(kept.members) for m in members),
    )
    ProblemRecord.objects.bulk_create(
        [
            ProblemRecord(
                student_id=ids[n], kind=ProblemRecord.Kind.SUSPECTED, others=suspected[keep[n]]
            )
            for n in range(len(keep))
            if problem[n]
        ],
        batch_size=2000,
    )
    event_add(ids, actor=actor, action="导入", to_state="")
    return {"written": len(keep), "skipped": len(taken)}


def _copy_text(table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    """COPY ready-made text lines into a table of the current school."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    copy_lines(statement, lines)


def _ids_reserve(n: int) -> list[int]:
    """`n` primary keys from the students table's own sequence, so children can point
    at them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [Student._meta.db_table, Student._meta.pk.column, n],
        )
        return [row[0] for row in cursor.fetchall()]
