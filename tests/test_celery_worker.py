"""A real Celery worker on the real Redis broker runs a task sent from school A inside
school A (tenant-schemas-celery), and the beat fan-out reaches every serving school
but never the template."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from conftest import World
from tenants.context import school_context

pytestmark = pytest.mark.worker


@pytest.fixture
def worker(celery_worker_thread: None) -> None:
    return None


def _add_students(schema: str, count: int) -> list[int]:
    from tenant_apps.registry.models import SchoolClass, Student

    with school_context(schema):
        klass = SchoolClass.objects.create(
            stage="primary",
            entry_year=2020,
            number=9,
            class_no=SchoolClass.make_class_no("primary", 2020, 9),
        )
        ids = [
            Student.objects.create(
                name=f"工人{i}",
                sex="2",
                birth_date=dt.date(2014, 1, 1),
                birthplace="430181108000",
                household_region="430181108000",
                school_class=klass,
                number_in_class=i + 1,
                entry_year_month="202009",
                # County-approved, so 在读 counts them (tenant_apps/registry/counts.py).
                audit_state=Student.Audit.REGISTERED,
            ).pk
            for i in range(count)
        ]
    return ids


def _remove_class(schema: str) -> None:
    from tenant_apps.registry.models import SchoolClass, Student

    with school_context(schema):
        Student.objects.filter(school_class__class_no="2020109").delete()
        SchoolClass.objects.filter(class_no="2020109").delete()


def test_task_sent_from_school_a_runs_in_school_a(live_db: World, worker: None) -> None:
    from tenants.models import SchoolStats
    from tenants.tasks import school_stats_refresh

    world = live_db
    _add_students(world.a.schema, 3)
    connection.set_schema_to_public()
    b_rows = SchoolStats.objects.filter(school_id=world.b.id)
    b_before = list(b_rows.values_list("students", "pending"))
    try:
        # when: sent from inside school A's context, as a request on A's host would
        with school_context(world.a.schema):
            result = school_stats_refresh.delay()
        outcome = result.get(timeout=60)
        # then: it counted A's students (3 registered 在读; the 1 seeded draft apart, as
        # not yet registered) and wrote A's public stats row
        assert outcome["school_id"] == world.a.id
        assert (outcome["students"], outcome["pending"]) == (3, 1)
        connection.set_schema_to_public()
        stats = SchoolStats.objects.get(school_id=world.a.id)
        assert (stats.students, stats.pending) == (3, 1)
        # and left school B's row as it was (B's row is kept by its own writes)
        other = SchoolStats.objects.filter(school_id=world.b.id).values_list("students", "pending")
        assert list(other) == b_before
    finally:
        _remove_class(world.a.schema)
        with school_context(world.a.schema):
            school_stats_refresh.apply()


def test_fan_out_reaches_each_serving_school_once(live_db: World, worker: None) -> None:
    from django.conf import settings

    from tenants.models import School, SchoolStats
    from tenants.tasks import schools_fan_out

    SchoolStats.objects.filter(
        school__schema_name__in=[live_db.a.schema, live_db.c.schema]
    ).delete()
    sent = schools_fan_out.delay("tenants.tasks.school_stats_refresh").get(timeout=60)
    serving = School.objects.serving().count()
    assert sent == serving
    # the fan-out's tasks run asynchronously: wait for their rows
    import time

    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and SchoolStats.objects.filter(school__in=School.objects.serving()).count() < serving
    ):
        time.sleep(0.2)
    assert SchoolStats.objects.filter(school__in=School.objects.serving()).count() == serving
    assert not SchoolStats.objects.filter(school__schema_name=settings.TENANT_BASE_SCHEMA).exists()


def test_the_worker_runs_a_two_process_dry_run(
    live_db: World, worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's dry run forks from inside the real worker (a thread of this process
    beside the live server's), streams the child's keys back and reports exactly."""
    import time

    from common.actor import Actor
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.imports import pipeline as imports
    from tenant_apps.registry.models import ImportBatch
    from tenant_apps.registry.tests.factories import valid_row
    from tenant_apps.registry.tests.test_import_dry_run import _workbook

    monkeypatch.setattr(imports, "PARALLEL_MIN_ROWS", 100)
    monkeypatch.setattr(imports, "KEYS_CHUNK", 30)
    forks: list[int] = []
    fork_map = imports.fork_map

    def counting(work, shares, **kwargs):
        forks.append(len(shares))
        return fork_map(work, shares, **kwargs)

    monkeypatch.setattr(imports, "fork_map", counting)
    rows = [valid_row(seq=9300 + i) for i in range(240)]
    rows[7]["ethnicity"] = "汉"
    rows[200]["phone"] = "12345"
    try:
        with school_context(live_db.a.schema):
            batch = imports.import_start(
                filename="w.xlsx",
                data=_workbook(rows),
                actor=Actor("registrar", "学籍员", live_db.a.schema),
                owner_id=1,
            )  # committed: the worker is sent the task on commit
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline:
            with school_context(live_db.a.schema):
                state = ImportBatch.objects.get(pk=batch.pk).state
            if state != ImportBatch.State.VALIDATING:
                break
            time.sleep(0.2)
        with school_context(live_db.a.schema):
            done = ImportBatch.objects.get(pk=batch.pk)
        assert done.state == ImportBatch.State.READY, state
        assert forks == [2]
        assert done.counts["total"] == 240
        assert done.counts["valid"] == 238
        assert sorted(e["row"] for e in done.errors) == [9, 202]
    finally:
        with school_context(live_db.a.schema):
            for b in ImportBatch.objects.all():
                Job.objects.filter(pk=b.job_id).delete()  # type: ignore[misc]
                b.delete()
        connection.set_schema_to_public()
