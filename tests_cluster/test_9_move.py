"""Moving a school to a new worker: the spare node joins the cluster, the school's
distributed schema (one colocation group) moves there with logical replication, and a
thread keeps writing and reading the school throughout. Nothing is lost: the row count
and a checksum of every row match what the writer committed. Runs last (file name), as
it changes the cluster's shape."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable

from django.db import connection, connections

from conftest import World
from tenants.context import school_context
from tenants.models import School
from tests_cluster.placement import schema_node, worker_ports

MODE = os.environ.get("CITUS_MOVE_MODE", "block_writes")
CHECKSUM = (
    "SELECT count(*), md5(coalesce(string_agg(id::text || ':' || name, ',' ORDER BY id), '')) "
    "FROM registry_student"
)


def _figures(schema: str) -> tuple[int, str]:
    with school_context(schema), connection.cursor() as cursor:
        cursor.execute(CHECKSUM)
        count, digest = cursor.fetchone()
    return int(count), str(digest)


def _add_student(class_id: int, n: int) -> None:
    from tenant_apps.registry.models import Student

    Student.objects.create(
        name=f"迁移{n:05d}",
        sex="1",
        birth_date=dt.date(2018, 3, 1),
        birthplace="430181108000",
        household_region="430181108000",
        school_class_id=class_id,
        number_in_class=n % 60 + 1,
        entry_year_month="202409",
    )


def test_a_school_keeps_answering_while_it_moves_to_a_new_worker(
    live_db: World, record_property: Callable[[str, object], None]
) -> None:
    from tenant_apps.registry.models import SchoolClass, Student

    host, port = os.environ["CITUS_SPARE_WORKER"].rsplit(":", 1)
    school = School.objects.get(code="2143990020")  # provisioned by test_1
    schema = school.schema_name
    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=2024,
            number=1,
            defaults={"class_no": SchoolClass.make_class_no("primary", 2024, 1)},
        )
        # What an earlier run against this same cluster wrote (live_db keeps it): the
        # figures below count from an empty class.
        Student.objects.filter(school_class=klass).delete()
        for n in range(500):
            _add_student(klass.pk, n)
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT citus_add_node(%s, %s)", [host, int(port)])
    assert int(port) in worker_ports()
    if schema_node(schema) == int(port):
        # An earlier run against this same cluster (`make test-cluster` with DATABASE_URL)
        # moved it there already: back to an old worker first, untimed.
        back = next(p for p in worker_ports() if p != int(port))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT citus_schema_move(%s::regnamespace, %s, %s, %s)",
                [schema, host, back, MODE],
            )
    assert schema_node(schema) != int(port)  # the school starts on an old worker

    stop = threading.Event()
    written: list[int] = []
    reads: list[int] = []
    errors: list[BaseException] = []

    def keep_writing_and_reading() -> None:
        n = 1000
        try:
            while not stop.is_set():
                with school_context(schema):
                    _add_student(klass.pk, n)
                    written.append(n)
                    reads.append(_figures(schema)[0])
                n += 1
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=keep_writing_and_reading)
    thread.start()
    try:
        time.sleep(1)
        started = time.monotonic()
        with connection.cursor() as cursor:
            # The school's schema is one colocation group: it moves whole.
            cursor.execute(
                "SELECT citus_schema_move(%s::regnamespace, %s, %s, %s)",
                [schema, host, int(port), MODE],
            )
        moved = time.monotonic() - started
        during = len(written)
        time.sleep(1)  # and it keeps answering after the move
    finally:
        stop.set()
        thread.join(timeout=60)
    assert errors == []
    assert schema_node(schema) == int(port)
    assert len(written) > during > 0
    count, digest = _figures(schema)
    with school_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT name FROM registry_student WHERE name LIKE '迁移%%' ORDER BY id")
        names = [row[0] for row in cursor.fetchall()]
    want = [f"迁移{n:05d}" for n in [*range(500), *written]]
    missing = sorted(set(want) - set(names))
    assert missing == [], f"{len(missing)} committed rows missing after the move: {missing[:20]}"
    assert count == 500 + len(written)
    assert reads == sorted(reads)  # every read saw every earlier write
    assert names == want  # and the rows' checksum is the writer's, in id order
    record_property("move_seconds", round(moved, 1))
    record_property("writes_during_and_after", len(written))
    record_property("checksum", digest)


def test_the_rebalancer_spreads_the_schools_over_three_workers(live_db: World) -> None:
    """After the move above the new worker holds one school; the rebalancer moves more
    there, and every school answers afterwards with the same rows."""
    schemas = list(School.objects.schools().values_list("schema_name", flat=True))
    before = {schema: _figures(schema) for schema in schemas}
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT citus_rebalance_start(shard_transfer_mode := %s)", [MODE])
        cursor.execute("SELECT citus_rebalance_wait()")
    placement = {schema: schema_node(schema) for schema in schemas}
    assert set(placement.values()) == set(worker_ports())
    assert len(worker_ports()) == 3
    assert {schema: _figures(schema) for schema in schemas} == before
