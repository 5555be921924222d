"""The import's write path on its own: the pending rows stored between the dry run and
the confirmation (signed, tamper-evident, old format still read), and the overlapped COPY
(index entries on a worker thread while the students are built) writing exactly what the
single-entry path would, and leaving nothing behind when either side fails."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from common.actor import Actor
from common.exceptions import ApplicationError
from conftest import World
from shared_apps.student_index.models import IndexEntry
from tenant_apps.registry import imports
from tenant_apps.registry.models import FamilyMember, Student, StudentEvent
from tenant_apps.registry.services import class_map, index_record, keys_of
from tenant_apps.registry.tests.factories import valid_row
from tenant_apps.registry.validation import RowValidator
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


def test_pending_rows_round_trip_with_their_keys(school_a: World) -> None:
    rows = _pending(20, suspected_every=7)
    keys = [keys_of(d) for _, d, _ in rows]

    raw = imports._payload_dump([(r, d, s, k) for (r, d, s), k in zip(rows, keys, strict=True)])
    back, back_keys = imports._payload_load(raw)

    assert back == rows  # dates, decimals, None and text all come back as they were
    assert back_keys == keys


def test_tampered_pending_rows_are_refused_not_unpickled(school_a: World) -> None:
    rows = _pending(3)
    raw = imports._payload_dump([(r, d, s, keys_of(d)) for r, d, s in rows])
    body_at = len(imports.PAYLOAD_MAGIC) + 32
    tampered = raw[:body_at] + bytes([raw[body_at] ^ 1]) + raw[body_at + 1 :]

    with pytest.raises(ApplicationError) as caught:
        imports._payload_load(tampered)

    assert caught.value.message == imports.MSG_PAYLOAD_BROKEN


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

    back, back_keys = imports._payload_load(raw)

    assert back == [(row_no, data, suspected)]
    assert back_keys == [k]


# -- overlapped write -----------------------------------------------------------------------


def test_the_overlapped_write_stores_what_single_entry_would(
    school_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "OVERLAP_MIN_ROWS", 10)
    monkeypatch.setattr(imports, "_CHUNK", 7)  # several hand-overs to the COPY thread
    used: list[int] = []
    overlapped = imports._copy_overlapped

    def spy(*args: Any) -> None:
        used.append(len(args[1]))
        overlapped(*args)

    monkeypatch.setattr(imports, "_copy_overlapped", spy)
    rows = _pending(40, suspected_every=9)
    existing = list(Student.objects.values_list("pk", flat=True))

    written = imports.students_create_bulk(rows=rows, actor=_actor(school_a))

    assert used == [40]
    assert written == {"written": 40, "skipped": 0}
    students = list(
        Student.objects.select_related("school_class").exclude(pk__in=existing).order_by("id")
    )
    assert [s.name for s in students] == [d["name"] for _, d, _ in rows]
    entries = {e.student_uuid: e for e in IndexEntry.objects.filter(school_id=school_a.a.id)}
    assert len(entries) == 40
    for s in students:
        expected = index_record(s)  # keys derived again from the stored student
        e = entries[s.identifier]
        assert (e.id_hash, e.name_hash, e.pinyin_hash) == (
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


@pytest.mark.parametrize("where", ["building", "copy_thread", "query_while_copying"])
def test_a_failure_on_either_side_of_the_overlap_leaves_nothing(
    school_a: World, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.setattr(imports, "OVERLAP_MIN_ROWS", 10)
    monkeypatch.setattr(imports, "OVERLAP_WAIT_SECONDS", 2)
    monkeypatch.setattr(imports, "_CHUNK", 5)
    rows = _pending(30)
    apply = imports._apply
    seen: list[int] = []

    def failing_apply(student: Student, data: dict[str, Any], classes: dict[str, int]) -> None:
        seen.append(1)
        if len(seen) == 20:
            if where == "building":
                raise ValueError("row 20 breaks")
            Student.objects.count()  # a query while the thread holds the connection
        apply(student, data, classes)

    def failing_copy(*args: Any, **kwargs: Any) -> None:
        raise ValueError("the index COPY breaks")

    if where == "copy_thread":
        monkeypatch.setattr(imports, "index_copy", failing_copy)
    else:
        monkeypatch.setattr(imports, "_apply", failing_apply)
    before = IndexEntry.objects.count()
    students_before = Student.objects.count()

    # then: an error, and nothing is left behind
    if where == "query_while_copying":
        # A query waits for the COPY, which gives up after OVERLAP_WAIT_SECONDS and
        # aborts the transaction; one that slips in between the two COPYs simply runs.
        # Either way: no hang, and all or nothing.
        try:
            with transaction.atomic():
                imports.students_create_bulk(rows=rows, actor=_actor(school_a))
        except Exception:  # noqa: BLE001 - either outcome is checked below
            assert Student.objects.count() == students_before
            assert IndexEntry.objects.count() == before
        else:
            assert Student.objects.count() == students_before + 30
            assert IndexEntry.objects.count() == before + 30
        return
    message = {"building": "row 20 breaks", "copy_thread": "the index COPY breaks"}[where]
    with pytest.raises(ValueError, match=message), transaction.atomic():
        imports.students_create_bulk(rows=rows, actor=_actor(school_a))

    assert Student.objects.count() == students_before
    assert IndexEntry.objects.count() == before
