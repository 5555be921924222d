"""Benchmark: how long a new school takes to provision, by clone and by migration.

    .venv/bin/python bench/provision.py [--n 50] [--keep]

With DATABASE_URL set, the benchmark creates (after dropping) its own database
`bench_provision` on that server and touches nothing else there. Without it, embedded
PostgreSQL starts fresh in .pgdata-bench. Either way the bench database is dropped at
the end unless --keep is given.

Measures, on one platform set up by `setup_platform`:
  * N schools provisioned by cloning the template schema (the production path), and
    N by running every tenant migration (TENANT_CREATION_FAKES_MIGRATIONS=False),
    interleaved so that machine noise falls on both alike;
  * one `migrate_schemas --tenant` pass over all 2N+1 schemas with the standard and one
    with the multiprocessing executor (nothing left to apply: the fixed per-schema cost
    every deploy pays before any real DDL).

Prints a markdown table and writes the raw samples to bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Same layout as manage.py: `config` lives in the plain folder platform/, and the stdlib
# `platform` (imported above) stays the real one because that folder has no __init__.py.
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above

BENCH_DB = "bench_provision"
PGDATA = ROOT / ".pgdata-bench"
REDIS_DIR = ROOT / ".run" / "redis-bench"
OUT_DIR = ROOT / "bench" / "out"
TARGET_SECONDS = 1.0
TARGET_N = 50
# Every school sits in 浏阳市 (430181): the county must exist in the loaded regions and
# its province (43) must match digits 3-4 of the code.
COUNTY = "430181"


# -- measurements ---------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p90: float
    min: float
    max: float


def summarize(samples: list[float]) -> Summary:
    ordered = sorted(samples)
    # Nearest-rank p90: an observed sample, no interpolation between two of them.
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return Summary(
        n=len(ordered),
        median=statistics.median(ordered),
        p90=p90,
        min=ordered[0],
        max=ordered[-1],
    )


def trend(samples: list[float], size: int = 10) -> tuple[float, float]:
    """Median of the first and of the last `size` samples.

    Each school adds ~70 catalog rows (tables, indexes, sequences, TOAST); a cost that
    grows with the catalog shows here long before it moves the overall median.
    """
    size = min(size, len(samples))
    return statistics.median(samples[:size]), statistics.median(samples[-size:])


def provision_one(code: str, slug: str) -> float:
    from tenants.services import SchoolInput, school_provision, school_register

    start = time.perf_counter()
    registered = school_register(
        data=SchoolInput(
            name=f"基准测试学校 {slug}",
            code=code,
            slug=slug,
            county_code=COUNTY,
            stages=["primary"],
        ),
        scope=None,
    )
    school_provision(school_id=registered.school_id)
    return time.perf_counter() - start


def provision_clone(code: str, slug: str) -> float:
    return provision_one(code, slug)


def provision_migrate(code: str, slug: str) -> float:
    from django.test import override_settings

    # create_schema reads TENANT_CREATION_FAKES_MIGRATIONS at call time
    # (django_tenants.utils.get_creation_fakes_migrations), so this switches it to
    # CREATE SCHEMA + every tenant migration for this one school only.
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        return provision_one(code, slug)


def count_clones() -> list[int]:
    """Count template clones, so a silent fallback to migrating cannot pass as cloning.

    create_schema migrates instead of cloning when the template schema is missing; the
    timings would then compare migrate with migrate.
    """
    from django_tenants.clone import CloneSchema

    calls = [0]
    original = CloneSchema.clone_schema

    def counted(self: CloneSchema, *args: object, **kwargs: object) -> object:
        calls[0] += 1
        return original(self, *args, **kwargs)

    CloneSchema.clone_schema = counted
    return calls


def provision_all(n: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"clone": [], "migrate": []}
    clones = count_clones()
    runners: dict[str, Callable[[str, str], float]] = {
        "clone": provision_clone,
        "migrate": provision_migrate,
    }
    prefix = {"clone": 1, "migrate": 2}  # distinct code blocks and slugs per method
    for i in range(n):
        # ABBA order: neither method always runs first (warm caches, autovacuum, the
        # growing catalog all hit both alike).
        order = ("clone", "migrate") if i % 2 == 0 else ("migrate", "clone")
        for method in order:
            code = f"2143{prefix[method]}{i:05d}"
            slug = f"bench-{method}-{i}"
            before = clones[0]
            samples[method].append(runners[method](code, slug))
            if clones[0] - before != (1 if method == "clone" else 0):
                raise RuntimeError(f"{slug}: {method} path did not run as intended")
        print(
            f"  {i + 1}/{n}: clone {samples['clone'][-1]:.3f} s, "
            f"migrate {samples['migrate'][-1]:.3f} s",
            file=sys.stderr,
            flush=True,
        )
    return samples


def check_equivalent(n: int) -> dict[str, int]:
    """A cloned and a migrated school must end up alike, or the comparison is moot."""
    from django.db import connection

    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for method, block in (("clone", 1), ("migrate", 2)):
            schema = f"s2143{block}{n - 1:05d}"
            cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema])
            counts[f"{method}_tables"] = int(cursor.fetchone()[0])
            cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations')
            counts[f"{method}_migrations"] = int(cursor.fetchone()[0])
    if (counts["clone_tables"], counts["clone_migrations"]) != (
        counts["migrate_tables"],
        counts["migrate_migrations"],
    ):
        raise RuntimeError(f"cloned and migrated schools differ: {counts}")
    return counts


def migrate_pass(executor: str) -> float:
    from django.core.management import call_command
    from django.db import connections

    # The multiprocessing executor forks: a child must never inherit the parent's open
    # socket. Closing before both passes keeps them comparable.
    connections.close_all()
    start = time.perf_counter()
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0, executor=executor)
    elapsed = time.perf_counter() - start
    connections.close_all()
    return elapsed


# -- machine --------------------------------------------------------------------------


def machine() -> dict[str, str]:
    # Catalog bloat from every clone (the clone function is re-created each time) is only
    # cleaned up by autovacuum; with it off, clones slow down as N grows.
    return benchdb.machine(show=("autovacuum",))


def report(
    *,
    n: int,
    samples: dict[str, list[float]],
    passes: dict[str, float],
    schemas: int,
    info: dict[str, str],
    setup_seconds: float,
    equivalent: dict[str, int],
) -> str:
    clone, migrate = summarize(samples["clone"]), summarize(samples["migrate"])
    lines = [
        f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory']} RAM, "
        f"Python {info['python']}",
        f"PostgreSQL: {info['postgresql']} (autovacuum {info['autovacuum']})",
        f"Date: {info['date_utc']}",
        f"setup_platform: {setup_seconds:.1f} s; schools per method N = {n}; "
        f"each school has {equivalent['clone_tables']} tables and "
        f"{equivalent['clone_migrations']} recorded migrations either way",
        "",
        "| provisioning (s/school) | median | p90 | min | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in (("clone (template)", clone), ("migrate (all migrations)", migrate)):
        lines.append(f"| {name} | {s.median:.3f} | {s.p90:.3f} | {s.min:.3f} | {s.max:.3f} |")
    first_c, last_c = trend(samples["clone"])
    first_m, last_m = trend(samples["migrate"])
    size = min(10, n)
    lines += [
        "",
        f"Drift, median of first vs last {size} schools: clone {first_c:.3f} -> {last_c:.3f} s, "
        f"migrate {first_m:.3f} -> {last_m:.3f} s",
    ]
    lines += [
        "",
        f"| migrate_schemas --tenant, {schemas} schemas | wall (s) | per schema (s) |",
        "|---|---:|---:|",
    ]
    for executor, seconds in passes.items():
        lines.append(f"| {executor} | {seconds:.1f} | {seconds / schemas:.3f} |")
    verdict = "PASS" if clone.median < TARGET_SECONDS else "FAIL"
    note = "" if n == TARGET_N else f" (measured at N = {n}, target is stated at N = {TARGET_N})"
    lines += [
        "",
        f"Target: median clone provisioning < {TARGET_SECONDS:.0f} s per school at "
        f"N = {TARGET_N}: {verdict} ({clone.median:.3f} s){note}",
    ]
    return "\n".join(lines)


def run(n: int) -> None:
    benchdb.django_setup()
    from django.core.management import call_command

    from tenants.models import School

    print("setup_platform...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    # setup_platform writes its progress lines even at verbosity 0; keep stdout for the table.
    call_command("setup_platform", verbosity=0, stdout=io.StringIO())
    setup_seconds = time.perf_counter() - start

    print(f"provisioning {n} + {n} schools...", file=sys.stderr, flush=True)
    samples = provision_all(n)
    equivalent = check_equivalent(n)

    # migrate_schemas --tenant covers every row but public: the template and 2N schools.
    schemas = School.objects.exclude(schema_name="public").count()
    passes: dict[str, float] = {}
    for executor in ("standard", "multiprocessing"):
        print(f"migrate_schemas ({executor}) over {schemas} schemas...", file=sys.stderr)
        passes[executor] = migrate_pass(executor)

    info = machine()
    text = report(
        n=n,
        samples=samples,
        passes=passes,
        schemas=schemas,
        info=info,
        setup_seconds=setup_seconds,
        equivalent=equivalent,
    )
    print(text, flush=True)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = {
        "n": n,
        "machine": info,
        "setup_platform_seconds": setup_seconds,
        "samples": samples,
        "migrate_schemas_seconds": passes,
        "schemas": schemas,
        "summary": {k: asdict(summarize(v)) for k, v in samples.items()},
    }
    path = OUT_DIR / f"provision-{stamp}.json"
    path.write_text(json.dumps(raw, indent=2, ensure_ascii=False))
    print(f"raw samples: {path.relative_to(ROOT)}", file=sys.stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="School provisioning benchmark.")
    parser.add_argument("--n", type=int, default=TARGET_N, help="schools per method")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.n > 99_999:
        parser.error("--n must fit the 5 free digits of a school code")

    # Provisioning never touches the cache or broker; settings only need a URL, but a
    # live server keeps any lazy cache access from failing mid-measurement.
    services = benchdb.services_start(db=BENCH_DB, pgdata=PGDATA, redis_dir=REDIS_DIR)
    try:
        run(args.n)
    finally:
        benchdb.services_stop(services, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
