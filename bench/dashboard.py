"""Benchmark: the bureau dashboard (issue 16 point 6).

    .venv/bin/python bench/dashboard.py [--schools 5000] [--county-schools 500]
                                        [--pupils 1000] [--requests 20]

p95 server time of the dashboard's main page and of every drill-down level (county,
township, school, grade → classes) and of the biggest API table:

* a county officer of 浏阳市 over `--county-schools` schools × `--pupils` pupils
  (target p95 ≤ 50 ms);
* a province officer of 湖南省 over `--schools` schools × `--pupils` pupils, the county
  ones included (target p95 ≤ 100 ms).

How the counts are simulated: the dashboard reads only public tables, so the schools are
School rows (bulk-inserted, no schema of their own: their counts are what is read, never
their registry) spread over the real townships of 浏阳市 and of every other county of
湖南省 (regions.Region, the full division table), and their counts are bulk-inserted
SchoolCount cells as student_index keeps them: per school, `--pupils` pupils over six
primary entry years × two sexes; in each of those 12 groups ~4 % not yet registered (one
of 待提交, 待学校审核, 待教育局审核, 问题学籍), ~4 % each on two other lines (休学, 转出,
毕业 …), the rest 在读; each line 90 % 汉族 and 5 % each of two other ethnicities; the
flags on their usual shares of each cell — 72 cells a school, 360,000 for 5,000 schools
(bulk_create, so the rollup triggers run as in production; the deltas are folded as the
minute's beat job would before anything is timed). Eleven months of MonthTotal rows per
school feed the trend. One school is real (provisioned, 1,000 pupils in its registry in
24 classes), for the grade → class level, which is read inside that school through the
registry's facade.

Each figure times `--requests` GETs (after one warm-up) through the whole middleware stack
with the Django test client, and prints the median and p95 with the query count. The
nightly monthly snapshot over all the cells is timed once, and so is what the rollup
triggers add to a write on SchoolCount (one-cell and 10,000-cell UPDATEs, triggers on
and off).

Uses DATABASE_URL (its own database `bench_dashboard`, dropped afterwards) or a fresh
embedded PostgreSQL in .pgdata-bench-dashboard.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above

DB = "bench_dashboard"
PGDATA = ROOT / ".pgdata-bench-dashboard"
REDIS_DIR = ROOT / ".run" / "redis-bench-dashboard"
COUNTY_TARGET_MS = 50.0
PROVINCE_TARGET_MS = 100.0
PASSWORD = "Bench-Passw0rd-1"  # noqa: S105 - the bench accounts of a throw-away database
COUNTY = "430181"  # 浏阳市
PROVINCE = "430000000000"  # 湖南省


# -- the data -----------------------------------------------------------------------------


def _cells(rnd: Any, school_id: int, pupils: int, current: int) -> list[Any]:
    """One school's SchoolCount cells, `pupils` in all (see the module docstring): each
    grade × sex group split into lines and ethnicities by share, with some jitter, and the
    flags as shares of each 在读 cell. Cells are built per group, not per pupil, so 5,000
    schools fill in seconds."""
    from shared_apps.student_index.models import SchoolCount

    years = list(range(current - 5, current + 1))
    per = [pupils // 12 + (1 if i < pupils % 12 else 0) for i in range(12)]
    flags = ("left_behind", "migrant_child", "disability", "boarding", "needs_aid",
             "boarding_subsidy", "only_child")  # fmt: skip
    shares = (0.12, 0.15, 0.02, 0.25, 0.10, 0.08, 0.30)
    others = ["02", "03", "06", "07", "10", "13"]
    pending = ["draft", "school_pending", "county_pending", "problem"]
    minority = rnd.sample(["03", "04", "09", "11", "15", "28"], 2)
    out = []
    for i, n in enumerate(per):
        year, sex = years[i // 2], "12"[i % 2]
        lines: dict[tuple[str, str], int] = {}
        left = n
        for audit in rnd.sample(pending, 1):  # ~4 % not yet registered
            k = min(left, max(0, round(n * 0.04 + rnd.uniform(-2, 2))))
            lines[("01", audit)] = k
            left -= k
        for status in rnd.sample(others, 2):  # ~8 % on other lines
            k = min(left, max(0, round(n * 0.04 + rnd.uniform(-2, 2))))
            lines[(status, "registered")] = k
            left -= k
        lines[("01", "registered")] = left
        for (status, audit), k in lines.items():
            split = {"01": k - 2 * (k // 20), minority[0]: k // 20, minority[1]: k // 20}
            for eth, m in split.items():
                if m <= 0:
                    continue
                values = {f: round(m * share) for f, share in zip(flags, shares, strict=True)}
                out.append(
                    SchoolCount(
                        school_id=school_id,
                        stage="primary",
                        entry_year=year,
                        sex=sex,
                        ethnicity=eth,
                        status=status,
                        audit_state=audit,
                        has_problem=audit == "problem",
                        students=m,
                        **values,
                    )
                )
    return out


def _fill(*, schools: int, county_schools: int, pupils: int) -> dict[str, Any]:
    import datetime as dt
    import random

    from django.db import connection
    from django.utils import timezone

    from shared_apps.bureau.models import MonthTotal
    from shared_apps.regions.models import Region
    from shared_apps.student_index.models import SchoolCount
    from tenant_apps.registry.facade import school_year
    from tenants.models import School

    rnd = random.Random(16)
    current = school_year()
    counties = list(
        Region.objects.filter(level=Region.Level.COUNTY, code__startswith="43")
        .exclude(code__startswith=COUNTY)
        .values_list("code", flat=True)
    )
    towns: dict[str, list[str]] = {}
    for code in Region.objects.filter(level=Region.Level.TOWNSHIP, code__startswith="43"):
        towns.setdefault(code.code[:6], []).append(code.code)
    rows = []
    for i in range(schools):
        county = COUNTY + "000000" if i < county_schools else rnd.choice(counties)
        township = rnd.choice(towns.get(county[:6]) or [""])
        rows.append(
            School(
                name=f"基准第{i + 1:04d}小学",
                code=f"21{i + 1:08d}",
                slug=f"bench-{i + 1}",
                schema_name=f"bench_{i + 1}",
                county_id=county,
                location_code=township,
                stages=["primary"],
                provisioning=School.Provisioning.READY,
            )
        )
    made = School.objects.bulk_create(rows, batch_size=2000)
    cells: list[SchoolCount] = []
    for school in made:
        cells += _cells(rnd, school.pk, pupils, current)
    SchoolCount.objects.bulk_create(cells, batch_size=10000)
    this_month = timezone.localdate().replace(day=1)
    totals = []
    for back in range(1, 12):
        index = this_month.year * 12 + this_month.month - 1 - back
        month = dt.date(index // 12, index % 12 + 1, 1)
        for school in made:
            n = pupils - rnd.randrange(40)
            totals.append(
                MonthTotal(
                    month=month,
                    school_id=school.pk,
                    in_school_male=n // 2,
                    in_school_female=n - n // 2,
                    in_school=n,
                    pending=rnd.randrange(40),
                    taken_on=month + dt.timedelta(days=27),
                )
            )
    MonthTotal.objects.bulk_create(totals, batch_size=10000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "schools": len(made),
        "cells": len(cells),
        "month_totals": len(totals),
        "first_school": made[0].pk,
        "township": made[0].location_code[:9],
    }


def _real_school(pupils: int) -> tuple[int, int]:
    """A provisioned school of 浏阳市 with `pupils` registered pupils in 24 classes, for the
    grade → class level (read in its schema). Returns (school id, an entry year)."""
    import datetime as dt

    from tenant_apps.registry.classes.services import class_create
    from tenant_apps.registry.facade import school_year
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context
    from tenants.services import SchoolInput, school_provision, school_register

    reg = school_register(
        data=SchoolInput(
            name="基准实名小学",
            code="2143990916",
            slug="bench-dashboard",
            county_code=COUNTY,
            stages=["primary"],
        ),
        scope=None,
    )
    school_provision(school_id=reg.school_id)
    current = school_year()
    with school_context(reg.schema_name):
        for year in range(current - 5, current + 1):
            for number in range(1, 5):
                class_create(stage="primary", entry_year=year, number=number)
        classes = list(SchoolClass.objects.order_by("class_no"))
        Student.objects.bulk_create(
            [
                Student(
                    name=f"基准{seq:05d}",
                    sex="12"[seq % 2],
                    birth_date=dt.date(2015, 9, 1) + dt.timedelta(days=seq % 700),
                    school_class=classes[seq % len(classes)],
                    number_in_class=seq // len(classes) + 1,
                    entry_year_month=f"{classes[seq % len(classes)].entry_year}09",
                    audit_state=Student.Audit.REGISTERED if seq % 25 else Student.Audit.DRAFT,
                )
                for seq in range(pupils)
            ],
            batch_size=2000,
        )
    return reg.school_id, current - 2


def _trigger_cost(statements: int = 400) -> list[str]:
    """What the rollup triggers add to writes on SchoolCount: `statements` one-cell
    UPDATEs (as a registration or an audit decision moves one count) and one UPDATE of
    10,000 cells (as a bulk confirmation), each with the triggers on and off, in
    transactions rolled back. Median ms per statement."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM student_index_schoolcount ORDER BY id LIMIT %s", [statements]
        )
        ids = [row[0] for row in cursor.fetchall()]
    out = []
    for label, toggle in (("on", "ENABLE"), ("off", "DISABLE")):
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE student_index_schoolcount {toggle} TRIGGER USER")
        singles = []
        with transaction.atomic(), connection.cursor() as cursor:
            for pk in ids:
                began = time.perf_counter()
                cursor.execute(
                    "UPDATE student_index_schoolcount SET students = students + 1 WHERE id = %s",
                    [pk],
                )
                singles.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            cursor.execute(
                "UPDATE student_index_schoolcount SET students = students + 1 "
                "WHERE id IN (SELECT id FROM student_index_schoolcount ORDER BY id LIMIT 10000)"
            )
            bulk = (time.perf_counter() - began) * 1000
            transaction.set_rollback(True)
        out.append(
            f"triggers {label}: one-cell UPDATE median {statistics.median(singles):.2f} ms, "
            f"p95 {benchdb.percentile(singles, 0.95):.2f} ms; 10,000-cell UPDATE {bulk:.0f} ms"
        )
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE student_index_schoolcount ENABLE TRIGGER USER")
    return out


def _officer(username: str, region: str) -> Any:
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from accounts.services import user_create

    user_create(username=username, full_name=username, roles=["bureau_registrar"], region_id=region)
    user = User.objects.get(username=username)
    user.set_password(PASSWORD)
    user.must_change_password = False
    user.save()
    from django.conf import settings

    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    login = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert login.status_code == 302, login.status_code
    connection.set_schema_to_public()
    return client


def _run(schools: int, county_schools: int, pupils: int, requests: int, profile: str = "") -> int:
    benchdb.django_setup()
    from django.core.management import call_command
    from django.db import connection

    from shared_apps.bureau.dashboard.services import month_snapshot_take, rollup_fold

    call_command("setup_platform", verbosity=0, executor="standard")
    started = time.perf_counter()
    real, year = _real_school(pupils)
    connection.set_schema_to_public()
    filled = _fill(schools=schools, county_schools=county_schools, pupils=pupils)
    fill_s = time.perf_counter() - started
    # The fill's cells reached the county rollup as deltas; the beat folds them within a
    # minute (bureau.dashboard_rollup_fold), as it does here before anything is timed.
    began = time.perf_counter()
    folded = rollup_fold()
    fold_s = time.perf_counter() - began
    began = time.perf_counter()
    snap = month_snapshot_take()
    snapshot_s = time.perf_counter() - began
    county = _officer("liuyang", COUNTY + "000000")
    province = _officer("hunan", PROVINCE)
    township = filled["township"]
    school = filled["first_school"]
    if profile:
        rollup_fold()
        # One request of `profile` (a URL; {township} and {school} filled in) under cProfile,
        # as the province officer, instead of the figures.
        import cProfile
        import pstats

        url = profile.format(township=township, school=school)
        province.get(url)
        profiler = cProfile.Profile()
        profiler.enable()
        province.get(url)
        profiler.disable()
        connection.set_schema_to_public()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            province.get(url)
        connection.set_schema_to_public()
        for q in captured.captured_queries:
            print(q["time"], q["sql"][:300])
        # The plans of the slow ones (the captured SQL has its parameters inlined).
        with connection.cursor() as cursor:
            for q in captured.captured_queries:
                if float(q["time"]) >= 0.005 and q["sql"].startswith("SELECT"):
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                    print("\n".join(r[0] for r in cursor.fetchall()))
        return 0
    # A web worker freezes its start-up heap (config/wsgi.py), so a full collection
    # scans only what requests allocate. Without this the bench process would scan the
    # fill's million objects: measured, every gen-2 collection then took 130-190 ms and
    # made the p95 of the province pages (a request allocates enough to trigger one).
    import gc

    gc.collect()
    gc.freeze()
    levels = [
        ("main page", "/bureau/dashboard/"),
        ("township", f"/bureau/dashboard/township/{township}/"),
        ("school", f"/bureau/dashboard/school/{school}/"),
        ("grade → classes", f"/bureau/dashboard/school/{real}/grade/primary/{year}/"),
        ("API schools", "/api/v1/dashboard/schools/"),
    ]
    figures = []
    for name, url in levels:
        figures.append(
            benchdb.time_get(
                county, requests, f"county ({county_schools}): {name}", url, COUNTY_TARGET_MS
            )
        )
    province_levels = [
        levels[0],
        ("county", f"/bureau/dashboard/county/{COUNTY}/"),
        *levels[1:4],
        ("API counties", "/api/v1/dashboard/counties/"),
        ("API schools", "/api/v1/dashboard/schools/"),
    ]
    for name, url in province_levels:
        figures.append(
            benchdb.time_get(
                province, requests, f"province ({schools}): {name}", url, PROVINCE_TARGET_MS
            )
        )
    facts = benchdb.machine()
    print(
        f"date (UTC): {facts['date_utc']}; machine: {facts['cpus']} × {facts['cpu']}, "
        f"{facts['memory']}; {facts['postgresql'].split(' on ')[0]}; "
        f"Python {facts['python']}; load average {os.getloadavg()[0]:.2f}"
    )
    print(f"data: {filled} ({fill_s:.1f} s to fill)")
    print(f"rollup fold of the fill's {folded} delta rows: {fold_s:.1f} s")
    print(f"monthly snapshot of every cell: {snap.rows} rows, {snapshot_s:.1f} s")
    for line in _trigger_cost():
        print(line)
    print(f"| GET ({requests} requests) | median ms | p95 ms | queries | target |")
    print("|---|---:|---:|---:|---|")
    for f in figures:
        target = f"p95 <= {f.target_ms:.0f} ms {f.verdict}" if f.target_ms else ""
        print(f"| {f.name} | {f.median_ms:.1f} | {f.p95_ms:.1f} | {f.queries} | {target} |")
    failed = [f.name for f in figures if f.verdict == "FAIL"]
    print(f"over target: {', '.join(failed) if failed else 'none'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=5000)
    parser.add_argument("--county-schools", type=int, default=500)
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--profile", default="", help="a URL to profile instead of timing")
    args = parser.parse_args(argv)
    services = benchdb.services_start(db=DB, pgdata=PGDATA, redis_dir=REDIS_DIR)
    try:
        return _run(
            args.schools, min(args.county_schools, args.schools), args.pupils,
            max(20, args.requests), args.profile,
        )  # fmt: skip
    finally:
        benchdb.services_stop(services)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
