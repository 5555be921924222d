"""Backup and restore of one school on the cluster (shared_apps.backups.citus_restore):
the schema is built by migrations, the dump's rows are loaded with `pg_restore
--data-only`, and the swap is one distributed transaction.

The ordinary suite's round trip (restore into the school and into a new school, every
table equal, the audit log carried, the index re-synced) and its failed restores run here
as they are; the test below adds marks and 学籍异动 history, checks the sequences and
fresh ids after the restore, and a failure injected at the swap."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.utils import timezone

from conftest import World
from shared_apps.backups import citus_restore
from shared_apps.backups.base import BackupError
from shared_apps.backups.services import school_backup, school_restore
from shared_apps.backups.tests.test_backups import (  # noqa: F401 - collected here
    _audit_cleanup,
    _audit_write,
    _drop_backups,
    _modify_school,
    _schemas_like,
    data_digests,
    index_kept,
    sequence_values,
    table_digests,
    test_a_failed_restore_changes_nothing,
    test_backup_then_restore_same_and_new_leave_identical_tables,
)
from tenants.context import school_context
from tests_cluster.placement import schema_node

MARKER = "集群恢复测试"


def _marks_and_history(schema: str) -> int:
    """A mark in two courses for every pupil and a closed 学籍异动 for each: rows in
    tables that point at the student and at each other. Returns the pupil count."""
    from tenant_apps.grades.models import Course, Mark
    from tenant_apps.registry.models import StatusChange, Student

    with school_context(schema):
        courses = list(Course.objects.order_by("code")[:2])
        students = list(Student.objects.order_by("id"))
        assert courses
        assert students
        now = timezone.now()
        Mark.objects.bulk_create(
            Mark(
                student=s,
                course=c,
                school_year="2025-2026",
                term=1,
                level=Mark.Level.GOOD,
                entered_by=MARKER,
                entered_at=now,
            )
            for s in students
            for c in courses
        )
        StatusChange.objects.bulk_create(
            StatusChange(
                student=s,
                kind=StatusChange.Kind.OTHER,
                change_date=dt.date(2025, 9, 1),
                from_status=s.status,
                to_status=s.status,
                state=StatusChange.State.WITHDRAWN,
                created_by=MARKER,
            )
            for s in students
        )
    connection.set_schema_to_public()
    return len(students)


def _marks_and_history_remove(schema: str) -> None:
    from tenant_apps.grades.models import Mark
    from tenant_apps.registry.models import StatusChange

    with school_context(schema):
        Mark.objects.filter(entered_by=MARKER).delete()
        StatusChange.objects.filter(created_by=MARKER).delete()
    connection.set_schema_to_public()


def _max_ids(schema: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        result = {}
        for table in ("registry_student", "grades_mark", "registry_statuschange"):
            cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{schema}".{table}')
            result[table] = int(cursor.fetchone()[0])
    return result


@pytest.mark.usefixtures("index_kept")
def test_restore_with_marks_and_history_gives_the_same_rows_and_fresh_ids(
    live_db: World, record_property: Callable[[str, object], None]
) -> None:
    from tenant_apps.grades.models import Course, Mark
    from tenant_apps.registry.models import StatusChange, Student

    world = live_db
    schema = world.a.schema
    since = timezone.now()
    backup = None
    try:
        # given: school A with pupils, marks and history, and its backup
        pupils = _marks_and_history(schema)
        before = data_digests(schema)
        assert before["grades_mark"][0] == 2 * pupils
        assert before["registry_statuschange"][0] >= pupils
        sequences, ids = sequence_values(schema), _max_ids(schema)
        node_before = schema_node(schema)
        backup = school_backup(school_id=world.a.id, kind="manual", created_by="test@public")

        # when: A changes (new pupils, marks and history gone, accounts edited) and the
        # backup is restored into A
        _modify_school(schema)
        _marks_and_history_remove(schema)
        _audit_write(schema, "集群恢复之前的操作")
        assert data_digests(schema) != before
        live_log_length = table_digests(schema)["accounts_auditentry"][0]
        started = time.monotonic()
        school_restore(backup_id=backup.pk, target="same", acting_user=None)
        record_property("restore_seconds", round(time.monotonic() - started, 2))

        # then: every table but the audit log holds exactly the rows of the backup, every
        # sequence is where it was, and the log kept its entries plus the restore's own
        assert data_digests(schema) == before
        assert sequence_values(schema) == sequences
        assert table_digests(schema)["accounts_auditentry"][0] == live_log_length + 1
        assert _schemas_like(f"{schema}_restoring_%") == []
        assert _schemas_like(f"{schema}_pre_restore_%") == []
        # still a distributed schema, placed whole on one worker (maybe another one)
        with connection.cursor() as cursor:
            cursor.execute("SELECT schema_name::text FROM citus_schemas")
            assert schema in {row[0] for row in cursor.fetchall()}
        record_property("worker_before_after", (node_before, schema_node(schema)))
        # and new rows get ids after every restored one
        with school_context(schema):
            student = Student.objects.order_by("id").first()
            assert student is not None
            mark = Mark.objects.create(
                student=student,
                course=Course.objects.order_by("code")[0],
                school_year="2030-2031",
                term=2,
                level=Mark.Level.PASS,
                entered_by=MARKER,
                entered_at=timezone.now(),
            )
            change = StatusChange.objects.create(
                student=student,
                kind=StatusChange.Kind.OTHER,
                change_date=dt.date(2030, 9, 1),
                from_status=student.status,
                to_status=student.status,
                state=StatusChange.State.WITHDRAWN,
                created_by=MARKER,
            )
        connection.set_schema_to_public()
        assert mark.pk > ids["grades_mark"]
        assert change.pk > ids["registry_statuschange"]
    finally:
        connection.set_schema_to_public()
        _marks_and_history_remove(schema)
        _drop_backups(school_id=world.a.id)
        _audit_cleanup(schema, since)


@pytest.mark.usefixtures("index_kept")
def test_a_failure_at_the_swap_leaves_the_school_as_it_was(
    live_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staging schema is fully loaded, then the transaction fails just before the
    renames: nothing of it stays, and the live school is untouched."""
    world = live_db
    schema = world.a.schema
    since = timezone.now()
    backup = school_backup(school_id=world.a.id, kind="manual", created_by="test@public")
    carry = citus_restore._audit_carry_sql

    def failing_carry(*, live: str, restored: str) -> list[str]:
        return [
            *carry(live=live, restored=restored),
            "DO $f$ BEGIN RAISE EXCEPTION 'injected before the swap'; END $f$",
        ]

    monkeypatch.setattr(citus_restore, "_audit_carry_sql", failing_carry)
    try:
        _audit_write(schema, "集群恢复失败之前的操作")
        before = table_digests(schema)
        node = schema_node(schema)
        with pytest.raises(BackupError):
            school_restore(backup_id=backup.pk, target="same", acting_user=None)
        connection.set_schema_to_public()
        assert table_digests(schema) == before
        assert schema_node(schema) == node
        assert _schemas_like(f"{schema}_restoring_%") == []
        assert _schemas_like(f"{schema}_pre_restore_%") == []
    finally:
        _drop_backups(school_id=world.a.id)
        _audit_cleanup(schema, since)
