"""What the product does differently on a Citus cluster (README "Running on Citus").

On plain PostgreSQL nothing here changes behaviour, so `make test` and `make run` are
unchanged. With the citus extension and `citus.enable_schema_based_sharding` on, each
school schema becomes a distributed schema placed whole on one worker; every table in
`public` stays a plain table on the coordinator.
"""

from __future__ import annotations

from django.db import connection

# Public tables that school tables point at with a foreign key (accounts_user.region in
# every school schema). Citus accepts such a key only if the public table is a reference
# table, and making regions_region one (measured) turns every public table holding a key
# to it into a Citus-managed table, tenants_school among them; the dashboard's roll-up
# trigger (transition tables joined with tenants_school) then fails with "unrecognized
# RTE kind: 7". So on Citus the key is not created in school schemas (tenants.backend).
# Nothing the product writes depends on it there: a region belongs to bureau accounts,
# which live in public, where the key stays; school accounts are created without one.
PUBLIC_FK_TARGETS = ("regions_region",)


def citus_enabled() -> bool:
    """Whether this database has the citus extension (the coordinator of a cluster)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
        return cursor.fetchone() is not None
