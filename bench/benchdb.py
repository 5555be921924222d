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


def proc_field(path: str, key: str) -> str | None:
    """One `key: value` line of a /proc file, or None."""
    import contextlib
    from pathlib import Path

    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    return None


def machine(*, show: tuple[str, ...] = ()) -> dict[str, str]:
    """The facts every RESULTS.md section records, plus PostgreSQL settings in `show`."""
    import os
    import platform
    from datetime import UTC, datetime

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        facts = {"postgresql": str(cursor.fetchone()[0])}
        for setting in show:
            cursor.execute(f"SHOW {setting}")  # names come from the scripts, never input
            facts[setting] = str(cursor.fetchone()[0])
    mem_kb = proc_field("/proc/meminfo", "MemTotal")
    return {
        "cpus": str(os.cpu_count()),
        "cpu": proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "memory": f"{int(mem_kb.split()[0]) / 1024 / 1024:.1f} GiB" if mem_kb else "unknown",
        **facts,
        "python": platform.python_version(),
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
