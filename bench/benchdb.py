"""Database plumbing shared by the benchmark scripts: each creates its own database on
the server it is given and drops it afterwards, touching nothing else there."""

from __future__ import annotations


def with_database(uri: str, name: str) -> str:
    """`uri` with its database replaced by `name`, query (e.g. ?host=/socket) kept."""
    base, _, query = uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def admin_uri(server_uri: str, bench_db: str) -> str:
    """A URI to run CREATE/DROP DATABASE from: never the bench database itself."""
    import psycopg.conninfo

    dbname = psycopg.conninfo.conninfo_to_dict(server_uri).get("dbname")
    return with_database(server_uri, "postgres") if dbname == bench_db else server_uri


def drop_database(server_uri: str, bench_db: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_uri(server_uri, bench_db), autocommit=True) as conn:
        # FORCE (PostgreSQL 13+) ends a session a crashed earlier run may have left.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(bench_db))
        )
