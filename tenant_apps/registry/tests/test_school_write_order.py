"""Writers of one school queue on the school's row before they lock or write anything of
it (students.services.school_writers_queue). Found by the term-start load (bench/load.py):
a registration and a class teacher's edit of another pupil of the same school deadlocked
within seconds, the registration at COMMIT checking its deferred foreign keys, the edit
waiting in the live counts for the school row the registration held."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from common.actor import Actor
from conftest import World
from tenants.context import school_context

LOCK_SCHOOL = "SELECT id FROM public.tenants_school WHERE id = %s FOR NO KEY UPDATE"


def _waiting_on_school() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE %s",
            ["%tenants_school%FOR NO KEY UPDATE%"],
        )
        return bool(cursor.fetchone()[0])


def _school_rows_touched(schema: str) -> list[str]:
    """The write locks (row share: FOR UPDATE; row exclusive: INSERT/UPDATE/DELETE) the
    backend queued on the school row holds on tables of the school's schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname || ' ' || l.mode FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND l.mode IN ('RowShareLock', 'RowExclusiveLock') "
            "AND l.pid IN (SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE %s)",
            [schema, "%tenants_school%FOR NO KEY UPDATE%"],
        )
        return sorted(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("write", ["edit", "register"])
def test_a_write_waits_for_the_school_row_before_locking_anything(
    live_db: World, write: str
) -> None:
    from shared_apps.student_index.live import counts_refresh
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students import services
    from tenant_apps.registry.students.forms import student_raw
    from tenant_apps.registry.tests.factories import valid_row

    world = live_db
    actor = Actor(username="registrar", name="学籍员", schema=world.a.schema)
    seq = 170_000 if write == "edit" else 170_001
    with school_context(world.a.schema):
        student = services.student_register(raw=valid_row(seq=170_002 + len(write)), actor=actor)
        raw = student_raw(
            Student.objects.prefetch_related("family").get(pk=student.pk),
            services.student_snapshot(student),
        ) | {"phone": "13900001111"}
    connection.set_schema_to_public()
    held, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def hold_school() -> None:
        # Another writer of the school, between its index write and its COMMIT.
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(LOCK_SCHOOL, [world.a.id])
                held.set()
                release.wait(30)
        finally:
            connection.close()

    def write_now() -> None:
        try:
            with school_context(world.a.schema):
                if write == "edit":
                    outcome["student"] = services.student_update(
                        student_id=student.pk, raw=raw, actor=actor
                    ).pk
                else:
                    outcome["student"] = services.student_register(
                        raw=valid_row(seq=seq), actor=actor
                    ).pk
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc
        finally:
            connection.close()

    holder = threading.Thread(target=hold_school)
    holder.start()
    assert held.wait(10)
    writer = threading.Thread(target=write_now)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        while not _waiting_on_school() and time.monotonic() < deadline:
            time.sleep(0.05)
        # when: the writer is queued on the school row
        assert _waiting_on_school()
        # then: it has locked or written nothing of the school yet (an edit used to hold
        # its student FOR UPDATE here, a registration its new rows and their foreign keys)
        assert _school_rows_touched(world.a.schema) == []
    finally:
        release.set()
        holder.join(10)
        writer.join(30)
    # and once the other writer is done, the write goes through
    assert "error" not in outcome, outcome.get("error")
    assert outcome["student"]
    made = {student.pk, int(outcome["student"])}  # type: ignore[call-overload]
    with school_context(world.a.schema):
        uuids = list(Student.objects.filter(pk__in=made).values_list("identifier", flat=True))
        Student.objects.filter(pk__in=made).delete()
    connection.set_schema_to_public()
    IndexEntry.objects.filter(student_uuid__in=uuids).delete()
    with transaction.atomic():
        counts_refresh(school_ids=[world.a.id])
