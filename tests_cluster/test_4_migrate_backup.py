"""Migrating every school, and backup and restore of one school, on the cluster."""

from __future__ import annotations

import tempfile

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection

from conftest import World
from shared_apps.backups.base import BackupError
from shared_apps.backups.services import dump_schemas, school_backup, school_restore, storage_name
from shared_apps.backups.tests.test_backups import _drop_backups, _schemas_like, table_digests
from tenants.context import school_context


def test_migrate_every_school(live_db: World) -> None:
    # live_db, not db: pytest-django runs `db` tests first, before test_1 made six schools.
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schema_name FROM tenants_school s JOIN information_schema.schemata "
            "USING (schema_name) WHERE s.schema_name <> 'public'"
        )
        schemas = [row[0] for row in cursor.fetchall()]
        assert len(schemas) >= 7  # six schools (test_1) and the template
        for schema in schemas:
            cursor.execute(
                f'SELECT count(*) FROM "{schema}".django_migrations WHERE app = %s',
                ["registry"],
            )
            assert cursor.fetchone()[0] > 10


def test_backup_works_and_restore_is_refused_leaving_the_school_unchanged(
    live_db: World,
) -> None:
    """Measured on Citus 14.0.1: pg_dump of one distributed schema works (the dump holds
    that school only), but replaying it fails on the dump's `ALTER TABLE` statements
    ("alter table command is currently unsupported"), so the restore rolls back as a
    whole and the school is left exactly as it was (README "Running on Citus")."""
    world = live_db
    backup = school_backup(school_id=world.a.id, kind="manual", created_by="test@public")
    try:
        with school_context("public"), default_storage.open(storage_name(backup.key)) as f:
            data = f.read()
        connection.set_schema_to_public()
        with tempfile.NamedTemporaryFile(suffix=".dump") as tmp:
            tmp.write(data)
            tmp.flush()
            assert dump_schemas(tmp.name) == {world.a.schema}
        before = table_digests(world.a.schema)
        with pytest.raises(BackupError):
            school_restore(backup_id=backup.pk, target="same", acting_user=None)
        connection.set_schema_to_public()
        assert table_digests(world.a.schema) == before
        assert _schemas_like(f"{world.a.schema}_pre_restore_%") == []
    finally:
        _drop_backups(school_id=world.a.id)
