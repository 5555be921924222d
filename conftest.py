"""Test set-up shared by every suite (django-tenants.md §3).

The test database is built once per session: the division table, the public tenant,
the clone template, two bureaus in two counties and three schools, each with one
account per role. Tests run inside a transaction that is rolled back; tests that need
committed data (a real Celery worker, the browser) use `live_db` and clean up after
themselves, so Django's flush never wipes the public tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from config.settings import database_from_url
from django.conf import settings
from django.db import connection
from django.test import Client

PASSWORD = "Test-Passw0rd-xyz"  # noqa: S105 - test accounts only


@dataclass(frozen=True)
class SchoolRef:
    """Plain data about a test school; never a model instance across schemas."""

    id: int
    schema: str
    host: str
    name: str
    code: str


@dataclass(frozen=True)
class World:
    a: SchoolRef  # 浏阳市 (430181)
    b: SchoolRef  # 浏阳市 (430181)
    c: SchoolRef  # 宁乡市 (430182), another county and bureau
    bureau_user: str  # officer of 浏阳市教育局
    other_bureau_user: str  # officer of 宁乡市教育局
    operator: str


SCHOOL_ROLES = {
    "admin": ["school_admin"],
    "registrar": ["registrar"],
    "approver": ["school_approver"],
    "principal": ["principal"],
    "teacher": ["class_teacher"],
    "subject": ["subject_teacher"],
    "staff": ["all_teachers"],
}
SENTINEL_STUDENT = "哨兵甲乙"  # a name only school A holds; must never show elsewhere


def pytest_configure(config: pytest.Config) -> None:
    # Hashing passwords with PBKDF2 at full strength would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = False


def _make_user(username: str, name: str, roles: list[str], region: str | None = None) -> None:
    from accounts.models import User
    from accounts.services import user_create

    if User.objects.filter(username=username).exists():
        return
    user_create(username=username, full_name=name, roles=roles, region_id=region)
    user = User.objects.get(username=username)
    user.set_password(PASSWORD)
    user.must_change_password = False
    user.save()


def _build_world() -> World:
    import datetime as dt

    from django.core.files.storage import default_storage

    from shared_apps.regions.models import Bureau, RegionVersion
    from shared_apps.regions.services import bureau_create, regions_load
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context
    from tenants.models import School
    from tenants.services import (
        SchoolInput,
        platform_setup,
        school_provision,
        school_register,
        school_stats_refresh,
    )
    from tenants.storage import storage_ensure_bucket

    connection.set_schema_to_public()
    if not RegionVersion.objects.exists():  # loads the table and its code history
        regions_load()
    platform_setup()
    storage_ensure_bucket(default_storage)
    for code, name in (("430181", "浏阳市教育局"), ("430182", "宁乡市教育局")):
        if not Bureau.objects.filter(region_id=f"{code}000000").exists():
            bureau_create(region_code=code, name=name)
    _make_user("op", "平台运营", ["platform_operator"])
    _make_user("liuyang", "浏阳学籍", ["bureau_registrar", "bureau_approver"], "430181000000")
    _make_user("ningxiang", "宁乡学籍", ["bureau_registrar", "bureau_approver"], "430182000000")

    refs = {}
    for key, name, code, slug, county in (
        ("a", "测试甲小学", "2143990001", "alpha", "430181"),
        ("b", "测试乙小学", "2143990002", "beta", "430181"),
        ("c", "测试丙小学", "2143990003", "gamma", "430182"),
    ):
        school = School.objects.filter(code=code).first()
        if school is None:
            reg = school_register(
                data=SchoolInput(
                    name=name, code=code, slug=slug, county_code=county, stages=["primary"]
                ),
                scope=None,
            )
            school_id = reg.school_id
        else:
            school_id = school.pk
        school_provision(school_id=school_id)
        school = School.objects.get(pk=school_id)
        refs[key] = SchoolRef(
            school.pk, school.schema_name, f"{slug}.{settings.BASE_DOMAIN}", name, code
        )
        with school_context(school.schema_name):
            for username, roles in SCHOOL_ROLES.items():
                _make_user(username, f"{name}{username}", roles)
            if not SchoolClass.objects.exists():
                klass = SchoolClass.objects.create(
                    stage="primary",
                    entry_year=2024,
                    number=1,
                    class_no=SchoolClass.make_class_no("primary", 2024, 1),
                )
                student_name = SENTINEL_STUDENT if key == "a" else f"学生{key}"
                Student.objects.create(
                    name=student_name,
                    sex="1",
                    birth_date=dt.date(2018, 3, 1),
                    id_number="430181201803010016" if key == "a" else "",
                    birthplace="430181108000",
                    household_region="430181108000",
                    school_class=klass,
                    number_in_class=1,
                    entry_year_month="202409",
                )
            school_stats_refresh()
    return World(refs["a"], refs["b"], refs["c"], "liuyang", "ningxiang", "op")


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[World]:
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        own_setup = None
        # pytest-django creates the test database only when a collected test asks for
        # `db`; a run of live_db tests alone (worker, browser) must get one as well.
        configured = database_from_url(os.environ.get("DATABASE_URL", ""))["NAME"]
        if connection.settings_dict["NAME"] == configured:
            own_setup = setup_databases(verbosity=0, interactive=False, aliases={"default"})  # type: ignore[arg-type]
        world = _build_world()
    yield world
    # Worker and live-server threads may still hold connections; the test database
    # can only be dropped once they are gone.
    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    if own_setup is not None:
        with django_db_blocker.unblock():  # type: ignore[attr-defined]
            teardown_databases(own_setup, verbosity=0)


@pytest.fixture(scope="session")
def world(django_db_setup: World) -> World:
    return django_db_setup


@pytest.fixture
def public(db: None) -> Iterator[None]:
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def live_db(django_db_setup: World, django_db_blocker: pytest.FixtureRequest) -> Iterator[World]:
    """Committed data visible to other threads (worker, live server). No flush afterwards:
    the test removes what it made."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        connection.set_schema_to_public()
        yield django_db_setup
        connection.set_schema_to_public()


@pytest.fixture(scope="session")
def celery_worker_thread(django_db_setup: World) -> Iterator[None]:
    """A real Celery worker (solo pool, in a thread) consuming from the real Redis broker."""
    from celery.contrib.testing.worker import start_worker
    from config.celery import app

    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        yield


def login(host: str, username: str, password: str = PASSWORD) -> Client:
    """A test client logged in through the real login form of `host`."""
    client = Client(HTTP_HOST=host)
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, f"login of {username} on {host} failed"
    connection.set_schema_to_public()
    return client


@pytest.fixture
def login_as() -> object:
    return login


@pytest.fixture
def bureau_host() -> str:
    return str(settings.BASE_DOMAIN)


@pytest.fixture(autouse=True)
def _login_throttles_reset() -> None:
    """Every test client comes from 127.0.0.1: forget the login throttles' counts
    (accounts.throttle, their own cache alias), so failures of earlier tests never
    answer 429 in a later one."""
    from django.core.cache import caches

    throttle = caches[settings.RATELIMIT_USE_CACHE]
    client = throttle._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{throttle.key_prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _public_schema_after_each_test() -> Iterator[None]:
    """Requests leave the connection in the last host's schema; reset it."""
    yield
    connection.set_schema_to_public()
