"""Benchmark: the report app (issue 15 point 9) on a school of 5,000 pupils with three
years of history and marks.

    .venv/bin/python bench/reports.py [--pupils 5000] [--requests 20] [--years 3]

One primary school (six entry years, 8 classes a year) is filled with bulk_create:
`--pupils` records spread over every count line (mostly 在读, some of every other status
and every registration state) with varied ethnicity, household type and flags; approved
status changes (流失, 其他离校, 退学, 休学 …) over the years; marks in three courses for
every term of the years; and one dated 查询统计 snapshot per day for `--years` years (the
first kept by reports.stats.services.snapshot_take, the older days copied from it in SQL,
so each holds as many rows as a real one).

Each figure is one function `figure_<name>(ctx) -> list[Figure]`, listed in FIGURES. A
figure times `--requests` GETs (after one warm-up) through the whole middleware stack with
the Django test client, logged in as the principal, and prints the median and p95 server
time with the query count. Target for every 查询统计 table: p95 ≤ 50 ms.

The other targets of point 9 fill schools of their own shape, so they are their own
scripts, which this one runs afterwards (each starts and drops its own database):
bench/reports_query.py (综合查询 with three filters, p95 ≤ 100 ms) and bench/reports_print.py
(a 50-pupil roster PDF ≤ 1 s, 5,000 学籍卡片 as one job ≤ 3 minutes). `--stats-only` skips them.
The exit status is non-zero when any figure misses its target.

Uses DATABASE_URL (its own database `bench_reports`, dropped afterwards) or a fresh
embedded PostgreSQL in .pgdata-bench-reports.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above
from bench.benchdb import Figure  # noqa: E402

DB = "bench_reports"
PGDATA = ROOT / ".pgdata-bench-reports"
REDIS_DIR = ROOT / ".run" / "redis-bench-reports"
MEDIA_DIR = ROOT / ".run" / "media-bench-reports"
STATS_TARGET_MS = 50.0
CLASSES_PER_YEAR = 8
PASSWORD = "Bench-Passw0rd-1"  # noqa: S105 - the bench account of a throw-away database


@dataclass
class Context:
    client: Any  # django.test.Client logged in as the principal
    schema: str
    host: str
    requests: int
    today: Any  # datetime.date
    grade: str  # a grade name, for 横向对比


def time_get(ctx: Context, name: str, url: str, target_ms: float | None) -> Figure:
    return benchdb.time_get(ctx.client, ctx.requests, name, url, target_ms)


# -- figures: one function each; append other parts' here -------------------------------


def figure_stats_tables(ctx: Context) -> list[Figure]:
    """Every 查询统计 table page, today (live) and as of a date a year back (snapshot)."""
    from tenant_apps.reports.stats.selectors import TABLES

    year_ago = ctx.today.replace(year=ctx.today.year - 1)
    start = ctx.today.replace(year=ctx.today.year - 3)
    out = []
    for key, spec in TABLES.items():
        base = f"/reports/stats/{key}/"
        if spec.asks == "period":
            out.append(time_get(ctx, f"{key} (3 years)", f"{base}?start={start}", STATS_TARGET_MS))
            continue
        out.append(time_get(ctx, f"{key} (today)", base, STATS_TARGET_MS))
        if spec.asks in ("date", "grade"):
            query = f"?date={year_ago}" + (f"&grade={ctx.grade}" if spec.asks == "grade" else "")
            out.append(time_get(ctx, f"{key} (a year ago)", base + query, STATS_TARGET_MS))
    return out


def figure_stats_api(ctx: Context) -> list[Figure]:
    """The API of the biggest tables (same selectors as the pages)."""
    return [
        time_get(ctx, f"API {key}", f"/api/v1/reports/stats/{key}/", STATS_TARGET_MS)
        for key in ("class_sex", "status", "flags")
    ]


def figure_stats_export(ctx: Context) -> list[Figure]:
    return [time_get(ctx, "export class_sex (xlsx)", "/reports/stats/class_sex/export/", None)]


FIGURES: list[Callable[[Context], list[Figure]]] = [
    figure_stats_tables,
    figure_stats_api,
    figure_stats_export,
]


# -- the school -------------------------------------------------------------------------


def _fill(schema: str, pupils: int, years: int) -> dict[str, int]:
    """The pupils, their changes, marks and `years` years of daily snapshots."""
    import datetime as dt
    import random

    from django.db import connection, transaction
    from django.utils import timezone

    from tenant_apps.grades.models import Course, Mark
    from tenant_apps.registry.classes.services import class_create
    from tenant_apps.registry.models import SchoolClass, StatusChange, Student
    from tenant_apps.registry.policy.rules import school_year
    from tenant_apps.reports.models import StatsSnapshot
    from tenant_apps.reports.stats.services import snapshot_take
    from tenants.context import school_context

    rnd = random.Random(15)
    current = school_year()
    entry_years = list(range(current - 5, current + 1))
    S, A = Student.Status, Student.Audit
    others = [s for s in S.values if s != S.STUDYING]
    with school_context(schema):
        for year in entry_years:
            for number in range(1, CLASSES_PER_YEAR + 1):
                class_create(stage="primary", entry_year=year, number=number)
        classes = list(SchoolClass.objects.order_by("class_no"))
        students = []
        for seq in range(pupils):
            klass = classes[seq % len(classes)]
            roll = rnd.random()
            audit: str = A.REGISTERED
            status: str = S.STUDYING
            if roll < 0.04:
                audit = rnd.choice([A.DRAFT, A.SCHOOL_PENDING, A.COUNTY_PENDING, A.PROBLEM])
            elif roll < 0.12:
                status = rnd.choice(others)
            students.append(
                Student(
                    name=f"基准{seq:05d}",
                    sex=rnd.choice("12"),
                    birth_date=dt.date(klass.entry_year - 7, 9, 1) + dt.timedelta(days=seq % 360),
                    school_class=klass,
                    number_in_class=seq // len(classes) + 1,
                    entry_year_month=f"{klass.entry_year}09",
                    audit_state=audit,
                    status=status,
                    ethnicity=rnd.choice(["01"] * 12 + ["03", "04", "09", "11"]),
                    household_type=rnd.choice("1123"),
                    left_behind=rnd.choice("0000000012"),
                    migrant_child=rnd.random() < 0.15,
                    disability=rnd.choice(["0"] * 40 + ["1", "4"]),
                    inclusive=rnd.choice(["0"] * 40 + ["3"]),
                    attendance=rnd.choice("1112"),
                    needs_aid=rnd.random() < 0.1,
                    boarding_subsidy=rnd.random() < 0.08,
                    only_child=rnd.random() < 0.3,
                )
            )
        Student.objects.bulk_create(students, batch_size=2000)
        kinds = ["DROPOUT", "OTHER_LEAVE", "WITHDRAW", "SUSPEND", "RESUME", "ABROAD"]
        today = timezone.localdate()
        picked = rnd.sample(list(Student.objects.values_list("pk", flat=True)), pupils // 15)
        StatusChange.objects.bulk_create(
            [
                StatusChange(
                    student_id=pk,
                    kind=rnd.choice(kinds),
                    change_date=today - dt.timedelta(days=rnd.randrange(365 * years)),
                    from_status=S.STUDYING,
                    to_status=S.SUSPENDED,
                    state=StatusChange.State.DONE,
                    created_by="bench",
                )
                for pk in picked
            ],
            batch_size=2000,
        )
        courses = list(Course.objects.order_by("code")[:3])
        now = timezone.now()
        marks = []
        ids = list(Student.objects.values_list("pk", flat=True))
        for back in range(years):
            first = current - back
            label = f"{first}-{first + 1}"
            for term in (1, 2):
                for course in courses:
                    for pk in ids:
                        level = rnd.choice([4, 3, 3, 2, 2, 1])
                        marks.append(
                            Mark(
                                student_id=pk,
                                course=course,
                                school_year=label,
                                term=term,
                                level=level,
                                score=50 + 12 * level - rnd.randrange(10),
                                entered_by="bench",
                                entered_at=now,
                            )
                        )
        Mark.objects.bulk_create(marks, batch_size=5000)
        with transaction.atomic():
            base = snapshot_take(date=today)
        # Older days: the same rows, copied in SQL under one snapshot per day.
        days = [today - dt.timedelta(days=d) for d in range(1, 365 * years + 1)]
        StatsSnapshot.objects.bulk_create(
            [
                StatsSnapshot(date=d, taken_at=now, source="daily", records=base.records)
                for d in days
            ],
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO reports_statssnapshotrow (snapshot_id, class_id, class_no,
                    class_name, grade_name, stage, sex, line, ethnicity, household_type,
                    flags, n)
                SELECT s.id, r.class_id, r.class_no, r.class_name, r.grade_name, r.stage,
                    r.sex, r.line, r.ethnicity, r.household_type, r.flags, r.n
                FROM reports_statssnapshot s
                CROSS JOIN reports_statssnapshotrow r
                WHERE r.snapshot_id = %s AND s.id <> %s
                """,
                [base.pk, base.pk],
            )
            cursor.execute("ANALYZE")
            cursor.execute("SELECT count(*) FROM reports_statssnapshotrow")
            snapshot_rows = int(cursor.fetchone()[0])
        return {
            "pupils": Student.objects.count(),
            "changes": len(picked),
            "marks": len(marks),
            "snapshots": len(days) + 1,
            "rows_per_snapshot": base.rows.count(),
            "snapshot_rows": snapshot_rows,
        }


def _run(pupils: int, requests: int, years: int, profile: str = "") -> int:
    benchdb.django_setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import user_create
    from tenants.context import school_context
    from tenants.services import SchoolInput, school_provision, school_register

    call_command("setup_platform", verbosity=0, executor="standard")
    reg = school_register(
        data=SchoolInput(
            name="基准统计小学",
            code="2143990915",
            slug="bench-reports",
            county_code="430181",
            stages=["primary"],
        ),
        scope=None,
    )
    school_provision(school_id=reg.school_id)
    with school_context(reg.schema_name):
        user_create(username="p1", full_name="基准校长", roles=["principal"])
        user = User.objects.get(username="p1")
        user.set_password(PASSWORD)
        user.must_change_password = False
        user.save()
    connection.set_schema_to_public()
    started = time.perf_counter()
    filled = _fill(reg.schema_name, pupils, years)
    connection.set_schema_to_public()
    fill_s = time.perf_counter() - started
    client = Client(HTTP_HOST=reg.host)
    login = client.post("/accounts/login/", {"username": "p1", "password": PASSWORD})
    assert login.status_code == 302, login.status_code
    connection.set_schema_to_public()
    from tenant_apps.registry.policy.rules import school_year

    ctx = Context(
        client, reg.schema_name, reg.host, requests, timezone.localdate(), f"小学{school_year()}级"
    )
    if profile:
        import cProfile
        import pstats

        client.get(profile)
        profiler = cProfile.Profile()
        profiler.enable()
        client.get(profile)
        profiler.disable()
        connection.set_schema_to_public()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return 0
    figures = [f for make in FIGURES for f in make(ctx)]
    facts = benchdb.machine()
    print(
        f"date (UTC): {facts['date_utc']}; machine: {facts['cpus']} × {facts['cpu']}, "
        f"{facts['memory']}; {facts['postgresql'].split(' on ')[0]}; "
        f"Python {facts['python']}; load average {os.getloadavg()[0]:.2f}"
    )
    print(f"school: {filled} ({fill_s:.1f} s to fill)")
    print(f"| GET ({requests} requests) | median ms | p95 ms | queries | target |")
    print("|---|---:|---:|---:|---|")
    for f in figures:
        target = f"p95 <= {f.target_ms:.0f} ms {f.verdict}" if f.target_ms else ""
        print(f"| {f.name} | {f.median_ms:.1f} | {f.p95_ms:.1f} | {f.queries} | {target} |")
    failed = [f.name for f in figures if f.verdict == "FAIL"]
    print(f"over target: {', '.join(failed) if failed else 'none'}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--years", type=int, default=3)
    # A URL to profile (cProfile, one request) instead of timing the figures.
    parser.add_argument("--profile", default="")
    parser.add_argument("--stats-only", action="store_true", help="skip the other two scripts")
    args = parser.parse_args(argv)
    # The other scripts start their own services: they get the shell's environment, not
    # the DATABASE_URL/REDIS_URL that services_start points at this script's servers.
    shell_env = dict(os.environ)
    services = benchdb.services_start(
        db=DB, pgdata=PGDATA, redis_dir=REDIS_DIR, media_dir=MEDIA_DIR
    )
    try:
        status = _run(args.pupils, max(20, args.requests), args.years, args.profile)
    finally:
        benchdb.services_stop(services)
    if args.stats_only or args.profile:
        return status
    here = Path(__file__).resolve().parent
    for script in ("reports_query.py", "reports_print.py"):
        print(f"\n## bench/{script}", flush=True)
        run = subprocess.run([sys.executable, str(here / script)], check=False, env=shell_env)  # noqa: S603 - our own scripts
        status |= run.returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
