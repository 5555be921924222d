"""What 查重 with the near keys (issue 19 point 7) costs on a full index.

    .venv/bin/python bench/dedup_nightly.py [--indexed 1000000] [--keep] [--reuse]

Fills the public index directly with `--indexed` rows of digests (bench/import.py's
index_fill: the three exact keys as before, plus 12 review and 9 low-priority near keys a
row, a few per cent shared), then times
- the nightly grouping (selectors.duplicate_flags: one grouped scan per key family, the
  near keys unnested), without and with the low-priority list;
- a single check (services.duplicates_find for one student's keys, as single entry
  sends it), 200 calls: median and p95.
Its own embedded PostgreSQL database, as bench/import.py's.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above

BENCH_DB = "bench_dedup_nightly"
PGDATA = ROOT / ".pgdata-bench-import"
REDIS_DIR = ROOT / ".run" / "redis-bench-dedup"
MEDIA_DIR = ROOT / ".run" / "media-bench-dedup"
SINGLE_CALLS = 200


def run(indexed: int) -> None:
    benchdb.django_setup()
    print(benchdb.machine())
    bench_import = importlib.import_module("bench.import")
    from django.db import connection

    from shared_apps.student_index.keys import identity_keys
    from shared_apps.student_index.selectors import duplicate_flags
    from shared_apps.student_index.services import duplicates_find

    bench_import.platform_ready()
    bench_import.schools_other(bench_import.OTHER_SCHOOLS)
    if bench_import.index_count() < indexed:
        t = time.perf_counter()
        bench_import.index_fill(indexed)
        print(f"index fill: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('student_index_indexentry'))")
        size = cursor.fetchone()[0]
    print(f"{bench_import.index_count():,} index entries, table + indexes {size}")
    for low in (False, True):
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            flags = duplicate_flags(low=low)
            runs.append(time.perf_counter() - t)
        kinds: dict[str, int] = {}
        for f in flags:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        print(
            f"nightly grouping{' with the low-priority list' if low else ''}: "
            f"{min(runs):.1f} s (runs {', '.join(f'{r:.1f}' for r in runs)}), flags {kinds}"
        )
    import datetime as dt

    samples = []
    for i in range(SINGLE_CALLS):
        k = identity_keys(
            name=f"张{chr(0x4E00 + i)}林",
            sex="1",
            birth_date=dt.date(2016, 1, 1) + dt.timedelta(days=i),
            id_number="",
        )
        t = time.perf_counter()
        duplicates_find([k])
        samples.append(1000 * (time.perf_counter() - t))
    samples.sort()
    print(
        f"single check (duplicates_find of a pupil without an ID number: "
        f"{2 + len(k.near_hashes)} keys probed): median "
        f"{statistics.median(samples):.1f} ms, p95 {samples[int(0.95 * len(samples))]:.1f} ms"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indexed", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)
    services = benchdb.services_start(
        db=BENCH_DB, pgdata=PGDATA, redis_dir=REDIS_DIR, media_dir=MEDIA_DIR, reuse=args.reuse
    )
    try:
        run(args.indexed)
    finally:
        benchdb.services_stop(services, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
