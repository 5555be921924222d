"""Migrating every school on the cluster (backup and restore of one school: test_5)."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connection

from conftest import World


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
