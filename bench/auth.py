"""Benchmark: what authentication and permission checks cost per request.

    .venv/bin/python bench/auth.py [--requests 2000]

The same API view (the school's info with its counts) is served twice on a school host
through the whole middleware stack: once as the project serves it (session cookie,
session and user loaded, schema binding, forced-password check, DRF session/token
authentication, the role-based permission) and once with authentication and permissions
switched off and no cookie. The difference of the medians is the price of the checks.
Target: at most 5 ms per request.

Uses DATABASE_URL (its own database `bench_auth`, dropped afterwards) or a fresh embedded
PostgreSQL in .pgdata-bench-auth.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above

DB = "bench_auth"
PGDATA = ROOT / ".pgdata-bench-auth"
REDIS_DIR = ROOT / ".run" / "redis-bench-auth"
TARGET_MS = 5.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    n = parser.parse_args(argv).requests
    services = benchdb.services_start(db=DB, pgdata=PGDATA, redis_dir=REDIS_DIR)
    try:
        return _run(n)
    finally:
        benchdb.services_stop(services)


def _timed(client, path: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return samples


def _run(n: int) -> int:
    benchdb.django_setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import clear_url_caches, path
    from rest_framework.permissions import AllowAny

    from accounts.models import User
    from accounts.services import user_create
    from tenant_apps.school_admin.apis import SchoolInfoApi
    from tenants.context import school_context
    from tenants.services import SchoolInput, school_provision, school_register

    call_command("setup_platform", verbosity=0, executor="standard")
    reg = school_register(
        data=SchoolInput(
            name="基准小学",
            code="2143990901",
            slug="bench",
            county_code="430181",
            stages=["primary"],
        ),
        scope=None,
    )
    school_provision(school_id=reg.school_id)
    with school_context(reg.schema_name):
        user_create(username="r1", full_name="基准", roles=["registrar"])
        user = User.objects.get(username="r1")
        user.set_password("Bench-Passw0rd-1")
        user.must_change_password = False
        user.save()
    connection.set_schema_to_public()

    class OpenSchoolInfoApi(SchoolInfoApi):
        authentication_classes: list[type] = []
        permission_classes = [AllowAny]

    # The same view under a second path, without authentication or permission checks.
    import types

    import config.urls_school as school_urls

    bench_urls = types.ModuleType("bench_urls")
    bench_urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bench/open/", OpenSchoolInfoApi.as_view()),
        *school_urls.urlpatterns,
    ]
    sys.modules["bench_urls"] = bench_urls
    settings.ROOT_URLCONF = "bench_urls"
    clear_url_caches()

    checked = Client(HTTP_HOST=reg.host)
    assert (
        checked.post(
            "/accounts/login/", {"username": "r1", "password": "Bench-Passw0rd-1"}
        ).status_code
        == 302
    )
    anonymous = Client(HTTP_HOST=reg.host)
    for client, route in ((checked, "/api/v1/school/"), (anonymous, "/bench/open/")):
        _timed(client, route, 50)  # warm-up: imports, prepared plans, caches
    with_checks, without = [], []
    for _ in range(5):  # interleave so that machine noise falls on both alike
        with_checks += _timed(checked, "/api/v1/school/", n // 5)
        without += _timed(anonymous, "/bench/open/", n // 5)
    med_with, med_without = statistics.median(with_checks), statistics.median(without)

    def p95(xs: list[float]) -> float:
        return benchdb.percentile(xs, 0.95)

    overhead = med_with - med_without
    major = connection.pg_version // 10000
    print(
        f"date (UTC): {datetime.now(UTC):%Y-%m-%d %H:%M}; machine: {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}; PostgreSQL {major}"
    )
    print(f"requests each: {len(with_checks)}")
    print("| path | median ms | p95 ms |")
    print("|---|---:|---:|")
    print(f"| with authentication and permissions | {med_with:.2f} | {p95(with_checks):.2f} |")
    print(f"| without | {med_without:.2f} | {p95(without):.2f} |")
    print(
        f"overhead (difference of medians): {overhead:.2f} ms; target <= {TARGET_MS} ms: "
        f"{'PASS' if overhead <= TARGET_MS else 'FAIL'}"
    )
    return 0 if overhead <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
