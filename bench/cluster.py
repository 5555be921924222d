"""Benchmark: the same figures on one PostgreSQL and on a Citus cluster, in one run
(issue 20 point 4).

    .venv/bin/python bench/cluster.py [--schools 6] [--per-school 10] [--move-pupils 5000]

Two targets, each measured in its own child process (`measure`) so that each gets a clean
Django: "one node", the embedded PostgreSQL as the other benches start it (bench/benchdb.py),
and "cluster", a coordinator and two workers started by deploy/cluster.py's `cluster()`
(with CITUS_DURABLE=1, set here unless the shell sets it: fsync, synchronous_commit and
full_page_writes at PostgreSQL's defaults, as on the one node; the test cluster turns
them off).
On each: setup_platform; `--schools` schools of one county provisioned (timed one by one:
cloning on one node, migrations on Citus) and filled by bench/transfer.py's `build`; the
student-list page of one school through the whole web stack (Django test client, logged
in); one pupil's 查重 (duplicates_find) against every school; the transfers of
bench/transfer.py (every pupil of school i to school i+1, p95 of the bureau's final
approvals; on the cluster the schools alternate between workers, so every move crosses
nodes); the bureau dashboard page; a `migrate_schemas` pass over every school; and on
the cluster a move of one school of `--move-pupils` pupils to the other worker
(citus_schema_move, block_writes). Prints a table, writes the raw figures to bench/out/.

The 50,000-row import is bench/import.py's generator and end-to-end driver, imported.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above

BENCH_DB = "bench_cluster"
PGDATA = ROOT / ".pgdata-bench-cluster"
REDIS_DIR = ROOT / ".run" / "redis-bench-cluster"
MEDIA_DIR = ROOT / ".run" / "media-bench-cluster"
OUT_DIR = ROOT / "bench" / "out"
PASSWORD = "Bench-Cluster-2026!"  # noqa: S105 - a throw-away bench account
REQUESTS = 30


def _ms(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50_ms": round(statistics.median(seconds) * 1000, 1),
        "p95_ms": round(benchdb.percentile(seconds, 0.95) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def provision_timed(i: int) -> float:
    from tenants.services import SchoolInput, school_provision, school_register

    reg = school_register(
        data=SchoolInput(
            name=f"基准集群学校{i:03d}",
            code=f"21438{i:05d}",
            slug=f"cl{i:03d}",
            county_code="430181",
            stages=["primary"],
        ),
        scope=None,
    )
    started = time.perf_counter()
    school_provision(school_id=reg.school_id)
    return time.perf_counter() - started


def registrar_client(schema: str, slug_host: str) -> Any:
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from accounts.services import user_create
    from tenants.context import school_context

    with school_context(schema):
        user_create(username="benchreg", full_name="基准学籍员", roles=["registrar"])
        user = User.objects.get(username="benchreg")
        user.set_password(PASSWORD)
        user.must_change_password = False
        user.save()
    connection.set_schema_to_public()
    client = Client(HTTP_HOST=slug_host)
    login = client.post("/accounts/login/", {"username": "benchreg", "password": PASSWORD})
    assert login.status_code == 302, login.status_code
    connection.set_schema_to_public()
    return client


def dedup_timed(schema: str, reps: int) -> list[float]:
    from shared_apps.student_index.keys import identity_keys
    from shared_apps.student_index.services import duplicates_find
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    with school_context(schema):
        s = Student.objects.order_by("id").first()
        assert s is not None
        keys = identity_keys(
            name=s.name, sex=s.sex, birth_date=s.birth_date, id_number=s.id_number or ""
        )
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        hits = duplicates_find([keys])
        samples.append(time.perf_counter() - started)
    assert hits, "the pupil finds itself in the index"
    return samples


def school_fill(schema: str, pupils: int) -> None:
    import datetime as dt

    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    with school_context(schema):
        klass = SchoolClass.objects.create(
            stage="primary", entry_year=2023, number=9, class_no="2023109"
        )
        Student.objects.bulk_create(
            (
                Student(
                    name=f"迁移{n:05d}",
                    sex="1" if n % 2 else "2",
                    birth_date=dt.date(2017, 1, 1) + dt.timedelta(days=n % 300),
                    birthplace="430181108000",
                    household_region="430181108000",
                    school_class=klass,
                    number_in_class=n % 60 + 1,
                    entry_year_month="202309",
                )
                for n in range(pupils)
            ),
            batch_size=1000,
        )


def school_digest(schema: str) -> tuple[int, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), md5(string_agg(id::text || name, ',' ORDER BY id)) "  # noqa: S608
            f'FROM "{schema}".registry_student'
        )
        count, digest = cursor.fetchone()
    return int(count), str(digest)


def move_timed(schema: str) -> dict[str, Any]:
    """One school to the other worker, as tests_cluster/test_9_move.py moves one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT nodename, nodeport FROM citus_shards WHERE table_name = %s::regclass",
            [f'"{schema}".registry_student'],
        )
        (here,) = cursor.fetchall()
        cursor.execute(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' "
            "AND groupid <> 0 AND (nodename, nodeport) <> (%s, %s) ORDER BY nodeport LIMIT 1",
            list(here),
        )
        there = cursor.fetchone()
        before = school_digest(schema)
        started = time.perf_counter()
        cursor.execute(
            "SELECT citus_schema_move(%s::regnamespace, %s, %s, 'block_writes')",
            [schema, there[0], there[1]],
        )
        seconds = time.perf_counter() - started
    after = school_digest(schema)
    assert after == before, (before, after)
    return {"seconds": round(seconds, 2), "from": here[1], "to": there[1], "rows": before[0]}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    benchdb.django_setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from bench.dashboard import _officer
    from bench.provision import migrate_pass
    from bench.transfer import batch, build, check, open_cases
    from tenant_apps.registry.models import Student
    from tenants.citus import citus_enabled
    from tenants.context import school_context

    out: dict[str, Any] = {"citus": citus_enabled(), "load": {}, "machine": benchdb.machine()}
    step = out["load"]
    call_command("setup_platform", verbosity=0, stdout=io.StringIO())
    step["setup_platform"] = _load()

    print("  provisioning, timed...", file=sys.stderr, flush=True)
    out["provision_s"] = [round(provision_timed(i), 2) for i in range(args.provision)]
    step["provision"] = _load()

    print(f"  {args.schools} schools x {args.per_school} pupils...", file=sys.stderr, flush=True)
    refs = build(args.schools, args.per_school)
    step["build"] = _load()
    first_id, first_schema = refs[0]
    slug = "tr000"
    client = registrar_client(first_schema, f"{slug}.{settings.BASE_DOMAIN}")
    page = benchdb.time_get(client, REQUESTS, "student list", "/registry/students/", None)
    out["student_list_ms"] = {"p50": round(page.median_ms, 1), "p95": round(page.p95_ms, 1)}
    out["student_list_queries"] = page.queries
    step["student_list"] = _load()

    out["dedup"] = _ms(dedup_timed(first_schema, REQUESTS))
    step["dedup"] = _load()

    officer = _officer("liuyang", "430181000000")
    dash = benchdb.time_get(officer, REQUESTS, "dashboard", "/bureau/dashboard/", None)
    out["dashboard_ms"] = {"p50": round(dash.median_ms, 1), "p95": round(dash.p95_ms, 1)}
    step["dashboard"] = _load()

    print("  transfers...", file=sys.stderr, flush=True)
    case_ids = open_cases(refs)
    samples = batch(case_ids)
    out["transfer"] = _ms(samples)
    out["transfer_checks"] = check(refs, case_ids, args.per_school)
    step["transfer"] = _load()

    if args.import_rows:
        # bench/import.py's generator and driver: the rows with their planted errors and
        # collisions, the workbook, then import_start + validate + confirm as the worker
        # and the confirm request call them.
        import importlib

        from common.actor import Actor

        bench_import = importlib.import_module("bench.import")
        print(f"  import of {args.import_rows} rows...", file=sys.stderr, flush=True)
        school = bench_import.school_real("2143700001", "imp", "基准导入学校")
        plan = bench_import.plan_build(args.import_rows)
        data = bench_import.workbook_write(plan.rows)
        with school_context(school.schema):
            run = bench_import.end_to_end_once(data, Actor("bench", "基准测试", school.schema))
        connection.set_schema_to_public()
        out["import"] = {
            "rows": args.import_rows,
            **{k: round(v, 2) for k, v in run["e2e"].items()},
            "written": run["counts"]["written"],
        }
        step["import"] = _load()

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenants_school WHERE schema_name <> 'public'")
        schemas = int(cursor.fetchone()[0])
    out["migrate_pass"] = {"schemas": schemas, "seconds": round(migrate_pass("standard"), 2)}
    step["migrate_pass"] = _load()

    if args.migrate_schools:
        out["migrate_many"] = migrate_many(args.migrate_schools, args.migrate_budget)
        step["migrate_many"] = _load()

    if out["citus"] and args.move_pupils:
        print(f"  move of a school of {args.move_pupils} pupils...", file=sys.stderr, flush=True)
        _, schema = refs[-1]
        school_fill(schema, args.move_pupils)
        with school_context(schema):
            pupils = Student.objects.count()
        connection.set_schema_to_public()
        out["move"] = {**move_timed(schema), "pupils": pupils}
        step["move"] = _load()
    return out


def migrate_many(total: int, budget: float) -> dict[str, Any]:
    """More schools, provisioned by the product's path (clone on one node, migrations on
    Citus) until `total` schemas or `budget` seconds of provisioning, then one timed
    migrate_schemas pass over all of them: the fixed cost of every release."""
    from django.db import connection

    from bench.provision import migrate_pass

    def count() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenants_school WHERE schema_name <> 'public'")
            return int(cursor.fetchone()[0])

    started, i, spent = time.monotonic(), 100, []
    while count() < total and time.monotonic() - started < budget:
        spent.append(provision_timed(i))
        i += 1
        if i % 50 == 0:
            print(f"  {count()} schemas ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    schemas = count()
    print(f"  migrate_schemas over {schemas} schemas...", file=sys.stderr, flush=True)
    return {
        "schemas": schemas,
        "provisioned": len(spent),
        "provision_median_s": round(statistics.median(spent), 2) if spent else None,
        "provision_last50_median_s": round(statistics.median(spent[-50:]), 2) if spent else None,
        "seconds": round(migrate_pass("standard"), 2),
    }


def child(target: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run `measure` in a child process with DATABASE_URL etc. for `target`."""
    from deploy import cluster as citus
    from deploy import local

    argv = [
        local.PY,
        str(Path(__file__)),
        "measure",
        f"--schools={args.schools}",
        f"--per-school={args.per_school}",
        f"--provision={args.provision}",
        f"--move-pupils={args.move_pupils}",
        f"--import-rows={args.import_rows}",
        f"--migrate-schools={args.migrate_schools}",
        f"--migrate-budget={args.migrate_budget}",
    ]
    env_saved = dict(os.environ)
    try:
        with contextlib.ExitStack() as stack:
            if target == "cluster":
                os.environ.setdefault("CITUS_DURABLE", "1")  # equal terms with one node
                os.environ.update(stack.enter_context(citus.cluster(citus.CACHE / "run-bench")))
                os.environ["REDIS_URL"] = local.ensure_redis(REDIS_DIR)
                stack.callback(local.stop_redis, REDIS_DIR)
            else:
                os.environ.pop("DATABASE_URL", None)
                services = benchdb.services_start(
                    db=BENCH_DB, pgdata=PGDATA, redis_dir=REDIS_DIR, media_dir=MEDIA_DIR
                )
                stack.callback(benchdb.services_stop, services)
            for name in [k for k in os.environ if k.startswith("AWS_")]:
                os.environ.pop(name)
            os.environ["MEDIA_ROOT"] = str(MEDIA_DIR)
            os.environ.setdefault("BASE_DOMAIN", "localhost")
            done = subprocess.run(argv, env=dict(os.environ), capture_output=True, text=True)
            sys.stderr.write(done.stderr[-3000:])
            if done.returncode != 0:
                raise SystemExit(f"{target}: measure failed ({done.returncode})")
            return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        os.environ.clear()
        os.environ.update(env_saved)


def table(results: dict[str, dict[str, Any]]) -> str:
    one, cl = results.get("one node", {}), results.get("cluster", {})

    def cell(r: dict[str, Any], key: str) -> str:
        value = r.get(key)
        if value is None:
            return "-"
        if key == "provision_s":
            return f"{statistics.median(value):.2f} s (median of {len(value)})"
        if key in {"student_list_ms", "dashboard_ms"}:
            return f"p50 {value['p50']} / p95 {value['p95']} ms"
        if key in {"dedup", "transfer"}:
            return f"p50 {value['p50_ms']} / p95 {value['p95_ms']} ms (n={value['n']})"
        if key == "migrate_pass":
            return f"{value['seconds']} s over {value['schemas']} schemas"
        if key == "migrate_many":
            return (
                f"{value['seconds']} s over {value['schemas']} schemas (provisioning median "
                f"{value['provision_median_s']} s, last 50 {value['provision_last50_median_s']} s)"
            )
        if key == "import":
            return (
                f"{value['total']} s for {value['rows']:,} rows "
                f"(validate {value['import_validate']} s, confirm {value['import_confirm']} s, "
                f"{value['written']:,} written)"
            )
        if key == "move":
            return f"{value['seconds']} s ({value['pupils']} pupils, rows and md5 equal)"
        return str(value)

    rows = [
        ("provisioning one school", "provision_s"),
        ("student list page (routed)", "student_list_ms"),
        ("single-pupil 查重", "dedup"),
        ("transfer, final approval", "transfer"),
        ("dashboard page", "dashboard_ms"),
        ("import end to end", "import"),
        ("migrate_schemas pass", "migrate_pass"),
        ("migrate_schemas pass over many", "migrate_many"),
        ("move of one school", "move"),
    ]
    lines = ["| figure | one node | cluster (coordinator + 2 workers) |", "|---|---|---|"]
    lines += [f"| {label} | {cell(one, key)} | {cell(cl, key)} |" for label, key in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="run", choices=["run", "measure"])
    parser.add_argument("--schools", type=int, default=6)
    parser.add_argument("--per-school", type=int, default=10)
    parser.add_argument("--provision", type=int, default=3)
    parser.add_argument("--move-pupils", type=int, default=5000)
    parser.add_argument("--import-rows", type=int, default=50000)
    parser.add_argument("--only", choices=["one node", "cluster"], default=None)
    parser.add_argument(
        "--migrate-schools",
        type=int,
        default=0,
        help="then provision up to this many schemas and time one migrate pass over them",
    )
    parser.add_argument(
        "--migrate-budget", type=float, default=2400.0, help="seconds of provisioning at most"
    )
    args = parser.parse_args(argv)
    if args.command == "measure":
        with contextlib.redirect_stdout(sys.stderr):
            out = measure(args)
        print(json.dumps(out, ensure_ascii=False))
        return 0
    results: dict[str, dict[str, Any]] = {}
    for target in ("one node", "cluster"):
        if args.only and target != args.only:
            continue
        print(f"{target}...", file=sys.stderr, flush=True)
        started = time.monotonic()
        results[target] = child(target, args)
        results[target]["wall_s"] = round(time.monotonic() - started, 1)
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (OUT_DIR / f"cluster-{stamp}.json").write_text(
            json.dumps({"args": vars(args), "results": results}, indent=1, ensure_ascii=False)
        )
    print(table(results))
    print(f"load average (1/5/15) at the end: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
