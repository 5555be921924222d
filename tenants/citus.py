"""What the product does differently on a Citus cluster (README "Running on Citus").

On plain PostgreSQL every function here is a no-op, so `make test` and `make run` are
unchanged. With the citus extension and `citus.enable_schema_based_sharding` on, each
school schema becomes a distributed schema placed whole on one worker, and a table in
`public` stays on the coordinator unless it is made a reference table (a copy on every
node). A school table may only hold a foreign key to a public table that is on every
node, so the public tables that school tables point at are made reference tables here.
"""

from __future__ import annotations

from django.db import connection

# The public tables school tables hold foreign keys to (accounts_user.region in every
# school schema points at the division table). Measured: without this the template's
# first migration fails with 'referenced table "regions_region" must be a distributed
# table or a reference table'. The division table changes once a year and is read
# everywhere, which is what reference tables are for.
REFERENCE_TABLES = ("regions_region",)


def citus_enabled() -> bool:
    """Whether this database has the citus extension (the coordinator of a cluster)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
        return cursor.fetchone() is not None


def public_tables_place() -> list[str]:
    """Make REFERENCE_TABLES reference tables (idempotent); return the ones converted.

    Must run after public is migrated and before the first school schema is created.
    Citus copies the rows already there to every worker.
    """
    if not citus_enabled():
        return []
    converted = []
    with connection.cursor() as cursor:
        for table in REFERENCE_TABLES:
            cursor.execute(
                "SELECT 1 FROM citus_tables WHERE table_name = %s::regclass "
                "AND citus_table_type = 'reference'",
                [f"public.{table}"],
            )
            if cursor.fetchone() is None:
                cursor.execute("SELECT create_reference_table(%s)", [f"public.{table}"])
                converted.append(table)
    return converted
