from __future__ import annotations

from django.db import connection

from conftest import World


def test_world(world: World, public: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name::text, colocation_id FROM citus_schemas ORDER BY 1")
        print(cursor.fetchall())
        cursor.execute("SELECT table_name::text, citus_table_type, nodeport FROM citus_shards ORDER BY 1")
        print(cursor.fetchall())
