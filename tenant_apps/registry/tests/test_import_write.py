"""The import's write path on its own: the pending rows stored between the dry run and
the confirmation (signed, tamper-evident, old formats still read), and the COPY of the
prepared rows writing exactly what the single-entry path would, escaping included, and
leaving nothing behind when any part fails."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from common.actor import Actor
from common.exceptions import ApplicationError
from conftest import World
from shared_apps.student_index.models import IndexEntry
from tenant_apps.registry.imports import bulkwrite
from tenant_apps.registry.imports import pending as pending_rows
from tenant_apps.registry.imports import pipeline as imports
from tenant_apps.registry.models import FamilyMember, Student, StudentEvent
from tenant_apps.registry.students import services
from tenant_apps.registry.students.services import class_map, index_record, keys_of
from tenant_apps.registry.tests.factories import valid_row
from tenant_apps.registry.validation.rows import RowValidator
from tenants.context import school_context

pytestmark = pytest.mark.django_db
BASE = 9000  # seq offset: pupils no other test registers


@pytest.fixture
def school_a(world: World) -> Iterator[World]:
    with school_context(world.a.schema):
        yield world
    connection.set_schema_to_public()


def _pending(n: int, *, suspected_every: int = 0) -> list[tuple[int, dict[str, Any], list[Any]]]:
    validator = RowValidator(class_nos=set(class_map()))
    rows = []
    for i in range(n):
        result = validator.validate(valid_row(seq=BASE + i))
        assert not result.errors, result.errors
        suspected = (
            [{"school_name": "某校", "name": "张*", "rule": "name_sex_birth"}]
            if suspected_every and i % suspected_every == 0
            else []
        )
        rows.append((i + 2, result.data, suspected))
    return rows


def _actor(world: World) -> Actor:
    return Actor(username="registrar", name="学籍员", schema=world.a.schema)


# -- pending rows ------------------------------------------------------------------------


def _prepared(rows: list[tuple[int, dict[str, Any], list[Any]]]) -> pending_rows.Pending:
    preparer = bulkwrite.Preparer()
    return pending_rows.Pending(
        rows=bulkwrite.prepare([(r, d) for r, d, _ in rows], None, preparer),
        suspected={i: s for i, (_, _, s) in enumerate(rows) if s},
        classes=preparer.classes,
    )


def _payload_dump(pending: pending_rows.Pending) -> bytes:
    """What a one-process dry run stores for `pending`."""
    return pending_rows.payload_pack(
        blobs=[pending_rows.rows_blob(pending.rows)],
        skip=[],
        suspected=pending.suspected,
        classes=pending.classes,
    )


def test_pending_rows_round_trip(school_a: World) -> None:
    pending = _prepared(_pending(20, suspected_every=7))

    back = pending_rows.payload_load(_payload_dump(pending))

    assert back == pending  # COPY text, keys, birth dates, look-alikes and classes
    assert sorted(back.suspected) == [0, 7, 14]


def test_pending_rows_from_two_processes_drop_the_skipped_ones(school_a: World) -> None:
    # given: the two processes' packed shares, rows 3 and 5 (positions 1 and 3 of the
    # whole) found to be duplicates after packing, and look-alikes of positions 2 and 3
    whole = _prepared(_pending(6))
    first, second = whole.rows.take([0, 1, 2]), whole.rows.take([3, 4, 5])
    raw = pending_rows.payload_pack(
        blobs=[pending_rows.rows_blob(first), pending_rows.rows_blob(second)],
        skip=[1, 3],
        suspected={2: [{"name": "张*"}], 3: [{"name": "李*"}]},
        classes=whole.classes,
    )

    back = pending_rows.payload_load(raw)

    assert back.rows == whole.rows.take([0, 2, 4, 5])
    assert back.suspected == {1: [{"name": "张*"}]}  # position 2 is now 1; 3 is gone


def test_tampered_pending_rows_are_refused_not_unpickled(school_a: World) -> None:
    raw = _payload_dump(_prepared(_pending(3)))
    body_at = len(pending_rows.PAYLOAD_MAGIC) + 32
    tampered = raw[:body_at] + bytes([raw[body_at] ^ 1]) + raw[body_at + 1 :]

    with pytest.raises(ApplicationError) as caught:
        pending_rows.payload_load(tampered)

    assert caught.value.message == pending_rows.MSG_PAYLOAD_BROKEN


def _same_rows(got: bulkwrite.Prepared, want: bulkwrite.Prepared) -> None:
    """Equal but for the uuids each preparation draws anew (in the student and index text)."""
    strip = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    for name in ("row_no", "id_hash", "name_hash", "pinyin_hash", "birth", "class_no", "members"):
        assert getattr(got, name) == getattr(want, name), name
    assert [strip.sub("", t) for t in got.student] == [strip.sub("", t) for t in want.student]
    assert [strip.sub("", t) for t in got.index] == [strip.sub("", t) for t in want.index]


def test_pending_rows_of_the_previous_pickle_format_still_load(school_a: World) -> None:
    # given: what a dry run before the upgrade stored (version 3, values per row)
    rows = _pending(3, suspected_every=2)
    columns = list(rows[0][1])
    body = {
        "version": 3,
        "columns": columns,
        "rows": [
            (r, tuple(d[c] for c in columns), s, tuple(vars(keys_of(d)).values()))
            for r, d, s in rows
        ],
    }
    raw = pending_rows.signed(pending_rows.PAYLOAD_MAGIC_V3, body)

    back = pending_rows.payload_load(raw)

    _same_rows(back.rows, _prepared(rows).rows)
    assert back.suspected == {0: rows[0][2], 2: rows[2][2]}


def test_pending_rows_of_the_previous_json_format_still_load(school_a: World) -> None:
    # given: what a dry run before the upgrade stored (version 2, gzip JSON)
    ((row_no, data, suspected),) = _pending(1)
    k = keys_of(data)
    columns = list(data)
    values = [v.isoformat() if hasattr(v, "isoformat") else v for v in data.values()]
    values = [str(v) if type(v).__name__ == "Decimal" else v for v in values]
    payload = {
        "version": 2,
        "columns": columns,
        "rows": [[row_no, values, suspected, [k.id_hash, k.name_hash, k.pinyin_hash]]],
    }
    raw = gzip.compress(json.dumps(payload, ensure_ascii=False).encode())

    back = pending_rows.payload_load(raw)

    _same_rows(back.rows, _prepared([(row_no, data, suspected)]).rows)
    assert back.rows.keys() == [k]


# -- the prepared write ----------------------------------------------------------------------


def test_the_prepared_write_stores_what_single_entry_would(school_a: World) -> None:
    rows = _pending(40, suspected_every=9)
    # text that COPY must escape: backslash, tab and line break inside values
    rows[3][1]["home_address"] = "梅田村\\3组\t12号\n(新)"
    rows[4][1]["m1_work_unit"] = "古港镇\\中心校"
    existing = list(Student.objects.values_list("pk", flat=True))

    written = imports.students_create_bulk(rows=rows, actor=_actor(school_a))

    assert written == {"written": 40, "skipped": 0}
    students = list(
        Student.objects.select_related("school_class").exclude(pk__in=existing).order_by("id")
    )
    assert [s.name for s in students] == [d["name"] for _, d, _ in rows]
    # every column as the ORM path (services._apply, _members) makes it
    late = set(bulkwrite.STUDENT_LATE_COLUMNS)
    for s, (_, data, suspected) in zip(students, rows, strict=True):
        want = Student(identifier=s.identifier, number_kind=Student.NumberKind.TEMPORARY)
        imports_apply(want, data)
        for f in Student._meta.concrete_fields:
            if f.column not in late:
                assert getattr(s, f.attname) == getattr(want, f.attname), f.attname
        assert s.audit_state == (Student.Audit.PROBLEM if suspected else Student.Audit.DRAFT)
        assert s.national_number.startswith("L")
        members = {m.slot: m for m in s.family.all()}
        for m in services._members(s.id, data):
            for f in FamilyMember._meta.concrete_fields:
                if f.attname != "id":
                    assert getattr(members[m.slot], f.attname) == getattr(m, f.attname)
    assert students[3].home_address == "梅田村\\3组\t12号\n(新)"  # type: ignore[attr-defined]
    entries = {e.student_uuid: e for e in IndexEntry.objects.filter(school_id=school_a.a.id)}
    assert len(entries) == 40
    for s in students:
        expected = index_record(s)  # keys derived again from the stored student
        e = entries[s.identifier]
        assert (e.id_hash, e.name_hash, e.pinyin_hash) == (  # type: ignore[comparison-overlap]
            expected.keys.id_hash,
            expected.keys.name_hash,
            expected.keys.pinyin_hash,
        )
        assert (e.stage, e.entry_year, e.sex, e.ethnicity, e.status, e.audit_state) == (
            expected.stage,
            expected.entry_year,
            expected.sex,
            expected.ethnicity,
            expected.status,
            expected.audit_state,
        )
        assert e.has_problem is (s.audit_state == Student.Audit.PROBLEM)
    assert sum(s.audit_state == Student.Audit.PROBLEM for s in students) == 5
    assert FamilyMember.objects.filter(student__in=students).count() == 80
    assert StudentEvent.objects.filter(student__in=students).count() == 40


def imports_apply(student: Student, data: dict[str, Any]) -> None:
    services._apply(student, data, class_map())


@pytest.mark.parametrize("where", ["index", "students", "family"])
def test_a_failure_in_any_copy_leaves_nothing(
    school_a: World, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    rows = _pending(30)
    copy_lines = bulkwrite.copy_lines

    def failing_index(**kwargs: Any) -> None:
        raise ValueError("the index COPY breaks")

    def failing_copy(statement: Any, lines: Any) -> None:
        table = "registry_familymember" if where == "family" else "registry_student"
        if table in statement.as_string(connection.connection):
            lines = (line.replace("\t", "\tx", 1) for line in lines)  # one column too many
        copy_lines(statement, lines)

    if where == "index":
        monkeypatch.setattr(bulkwrite, "index_copy_prepared", failing_index)
    else:
        monkeypatch.setattr(bulkwrite, "copy_lines", failing_copy)
    before = IndexEntry.objects.count()
    students_before = Student.objects.count()
    members_before = FamilyMember.objects.count()

    with pytest.raises(Exception), transaction.atomic():  # noqa: B017, PT011 - any failure
        imports.students_create_bulk(rows=rows, actor=_actor(school_a))

    assert Student.objects.count() == students_before
    assert FamilyMember.objects.count() == members_before
    assert IndexEntry.objects.count() == before


def test_a_class_changed_since_the_dry_run_is_refused_by_row(school_a: World) -> None:
    from tenant_apps.registry.models import SchoolClass

    pending = _prepared(_pending(3))
    SchoolClass.objects.filter(class_no=pending.rows.class_no[0]).update(class_no="2099109")
    before = Student.objects.count()

    with pytest.raises(ApplicationError) as caught, transaction.atomic():
        bulkwrite.prepared_write(
            pending.rows, suspected={}, classes=pending.classes, actor=_actor(school_a)
        )

    assert caught.value.message.startswith("第2行：班级")
    assert Student.objects.count() == before


def test_a_row_built_unlike_apply_stops_the_import(
    school_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the single-entry rule changes (here: a nickname column) and the import's
    # column plan does not follow
    apply = services._apply

    def changed_apply(student: Student, data: dict[str, Any], classes: dict[str, int]) -> None:
        apply(student, data, classes)
        student.former_name = "改过"  # type: ignore[attr-defined]

    monkeypatch.setattr(bulkwrite, "_apply", changed_apply)
    rows = _pending(3)
    before = Student.objects.count()

    with pytest.raises(RuntimeError, match="differs from what _apply makes"):
        imports.students_create_bulk(rows=rows, actor=_actor(school_a))

    assert Student.objects.count() == before
