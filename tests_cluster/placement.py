"""Where Citus put things: read from the coordinator's metadata views."""

from __future__ import annotations

from django.db import connection


def schema_node(schema: str) -> int:
    """The port of the worker holding `schema` (every table of a distributed schema
    lives on one node, so its student table answers for all of them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT nodeport FROM citus_shards WHERE table_name = %s::regclass",
            [f'"{schema}".registry_student'],
        )
        ports = [row[0] for row in cursor.fetchall()]
    assert len(ports) == 1, ports
    return int(ports[0])


def table_type(table: str) -> str | None:
    """'reference', 'local' (a Citus-managed table on the coordinator), 'schema', or None
    for a plain PostgreSQL table Citus knows nothing of (also on the coordinator)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT citus_table_type FROM citus_tables WHERE table_name = %s::regclass", [table]
        )
        row = cursor.fetchone()
    return str(row[0]) if row else None


def worker_ports() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nodeport FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0 "
            "ORDER BY nodeport"
        )
        return [int(row[0]) for row in cursor.fetchall()]
