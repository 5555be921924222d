"""Isolation is the product: every URL of both hosts, as the wrong person.

* A user of school B, with B's session cookie or B's API token, on school A's host.
* A bureau officer of another county on the bureau host, aimed at school A.
Each request must be refused (403/404, or a redirect to the login page), leak none of
school A's sentinel values, and change nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from conftest import SENTINEL_STUDENT, World, login

# Every URL parameter that appears in any pattern, and the kind of placeholder the access
# matrix resolves it with. Apps add theirs in tests/fillers/<app>.py (see its README).
PARAM_KINDS: dict[str, str] = {
    "school_id": "int",
    "job_id": "uuid",
    "token": "str",
    "student_id": "uuid",
    "batch_id": "uuid",
    "problem_id": "int",
    "review_id": "int",
    "user_id": "int",
    "session_id": "int",
}


def _filler_modules() -> list[Any]:
    return [
        importlib.import_module(f"tests.fillers.{m.name}")
        for m in pkgutil.iter_modules([str(Path(__file__).parent / "fillers")])
    ]


for _module in _filler_modules():
    PARAM_KINDS |= _module.PARAM_KINDS
PARAM_FILLERS = set(PARAM_KINDS)
PLACEHOLDER_BY_KIND = {"int": "1", "uuid": "00000000-0000-0000-0000-000000000000", "str": "x"}


def placeholder_values(**overrides: str) -> dict[str, str]:
    """A syntactically valid value for every URL parameter, for tests that only need a
    route to resolve (CSRF, access matrix), not to hit a real object."""
    return {name: PLACEHOLDER_BY_KIND[kind] for name, kind in PARAM_KINDS.items()} | overrides


REFUSED = {302, 401, 403, 404, 405}
# Pages that anyone may open: the login page, language switch, health and API docs.
OPEN_PATHS = {"accounts/login/", "i18n/setlang/", "api/schema/", "api/docs/", "api/v1/auth/token/"}
# The certificate check that a certificate's QR code opens (public by design; it shows
# only the masked name, which the walk asserts is not the sentinel's full name).
OPEN_PATHS |= {"verify/<str:verify_code>/", "api/v1/reports/verify/<str:verify_code>/"}
# The family photo upload link: public by design, shows only the masked name and class.
OPEN_PATHS |= {"registry/photos/family/<str:family_token>/"}


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def _routes(urlconf: str) -> list[str]:
    return sorted({route for route, _ in _walk(get_resolver(urlconf).url_patterns)})


def _fill(route: str, values: dict[str, str]) -> str:
    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
    unknown = set(names) - PARAM_FILLERS
    assert not unknown, f"isolation test cannot fill {unknown} in {route}: add a filler"
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)
    return "/" + path


@pytest.fixture
def a_values(world: World, db: None) -> dict[str, str]:
    """Real identifiers belonging to school A (its job, its file token)."""
    from accounts.models import User
    from shared_apps.jobs.models import Job
    from tenants.context import school_context
    from tenants.storage import SIGNING_SALT

    with school_context(world.a.schema):
        owner = User.objects.get(username="registrar").pk
        # A user of school A that no test logs in as, and disabled: POSTs aimed at the
        # account as a school administrator (appoint as registrar, enable/disable, unlock)
        # are refused or change nothing the access matrix depends on.
        user_id = User.objects.create(username="a_target", full_name="目标账号", is_active=False).pk
        job = Job.objects.create(
            owner_schema=world.a.schema, owner_id=owner, kind="t", title=SENTINEL_STUDENT
        )
        from django.core import signing

        token = signing.dumps({"s": world.a.schema, "k": "x.txt"}, salt=SIGNING_SALT)
        from tenant_apps.registry.models import ImportBatch, ProblemRecord, Student

        student = Student.objects.get(name=SENTINEL_STUDENT)
        batch = ImportBatch.objects.create(
            filename="a.xlsx",
            fmt="xlsx",
            file_key="k",
            created_by="x",
            state=ImportBatch.State.READY,
            counts={"invalid": 0},
        )
        problem = ProblemRecord.objects.create(student=student, kind="suspected")
        from accounts.models import UserSession

        # A signed-in session of A's registrar (我的登录), not a live one.
        session = UserSession.objects.create(user_id=owner, session_key="isolation-a-registrar")
    connection.set_schema_to_public()
    from shared_apps.bureau.models import EvidenceReview

    review = EvidenceReview.objects.create(
        school_id=world.a.id, problem_id=problem.pk, evidence_id=1, student_uuid=student.identifier
    )
    values = {
        "school_id": str(world.a.id),
        "job_id": str(job.pk),
        "token": token,
        "student_id": str(student.identifier),
        "batch_id": str(batch.pk),
        "problem_id": str(problem.pk),
        "review_id": str(review.pk),
        "user_id": str(user_id),
        "session_id": str(session.pk),
    }
    for module in _filler_modules():
        connection.set_schema_to_public()
        values |= module.values(world)
    connection.set_schema_to_public()
    return values


def _snapshot(world: World) -> dict[str, int]:
    from accounts.models import User
    from shared_apps.jobs.models import Job
    from shared_apps.regions.models import Bureau
    from tenant_apps.registry.models import Student
    from tenants.context import school_context
    from tenants.models import School

    connection.set_schema_to_public()  # requests leave the connection on their host's schema
    counts = {
        "schools": School.objects.count(),
        "active": School.objects.filter(status="active").count(),
        "bureaus": Bureau.objects.count(),
        "public_users": User.objects.count(),
        "jobs": Job.objects.count(),
    }
    from shared_apps.bureau.models import EvidenceReview
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import ImportBatch, ProblemRecord, StudentEvent

    counts["index"] = IndexEntry.objects.count()
    from shared_apps.nutrition.models import BeneficiaryClaim, ProgrammeSchool

    counts["programme_open"] = ProgrammeSchool.objects.filter(until__isnull=True).count()
    counts["claims_open"] = BeneficiaryClaim.objects.filter(until__isnull=True).count()
    counts["reviews"] = EvidenceReview.objects.filter(state="pending").count()
    with school_context(world.a.schema):
        counts["a_users"] = User.objects.count()
        counts["a_students"] = Student.objects.count()
        counts["a_live"] = Student.objects.exclude(audit_state="deleted").count()
        counts["a_events"] = StudentEvent.objects.count()
        counts["a_problems_open"] = ProblemRecord.objects.filter(state="open").count()
        counts["a_batches_ready"] = ImportBatch.objects.filter(state="ready").count()
        from tenant_apps.registry.models import Teacher

        counts["a_teachers_serving"] = Teacher.objects.filter(status="active").count()
        counts["a_teachers"] = Teacher.objects.count()
        from tenant_apps.registry.models import StudentPhoto

        counts["a_photos"] = StudentPhoto.objects.count()
        counts["a_photos_current"] = StudentPhoto.objects.filter(status="current").count()
    connection.set_schema_to_public()
    return counts


def _assert_refused(response, what: str, world: World) -> None:
    assert response.status_code in REFUSED, f"{what}: {response.status_code}"
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"], what
    body = response.content.decode("utf-8", "replace")
    assert SENTINEL_STUDENT not in body, what
    assert world.a.code not in body, what


def test_every_route_of_both_hosts_is_known() -> None:
    for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
        routes = _routes(urlconf)
        assert len(routes) > 10
        for route in routes:
            _fill(route, dict.fromkeys(PARAM_FILLERS, "1"))


@pytest.mark.parametrize("route", _routes("config.urls_school"))
def test_school_b_user_on_school_a_host_gets_nothing(
    route: str, world: World, a_values: dict[str, str]
) -> None:
    # given: B's admin is logged in on B's host; the cookie is replayed on A's host
    b_client = login(world.b.host, "admin")
    cookie = b_client.cookies[settings.SESSION_COOKIE_NAME].value
    intruder = Client(HTTP_HOST=world.a.host)
    intruder.cookies[settings.SESSION_COOKIE_NAME] = cookie
    path = _fill(route, a_values)
    before = _snapshot(world)
    # when / then
    for method in ("get", "post"):
        response = getattr(intruder, method)(path)
        if route in OPEN_PATHS or route.startswith("static/"):
            assert SENTINEL_STUDENT not in response.content.decode("utf-8", "replace")
            continue
        _assert_refused(response, f"{method.upper()} {path}", world)
    assert _snapshot(world) == before


@pytest.mark.parametrize(
    "route", [r for r in _routes("config.urls_school") if r.startswith("api/")]
)
def test_school_b_token_on_school_a_host_is_unknown(
    route: str, world: World, a_values: dict[str, str]
) -> None:
    from accounts.models import User
    from accounts.sessions import api_token_issue
    from tenants.context import school_context

    with school_context(world.b.schema):
        key = api_token_issue(user=User.objects.get(username="admin"), client="isolation").token
    connection.set_schema_to_public()
    intruder = Client(HTTP_HOST=world.a.host, HTTP_AUTHORIZATION=f"Token {key}")
    before = _snapshot(world)
    for method in ("get", "post"):
        response = getattr(intruder, method)(_fill(route, a_values))
        if route in OPEN_PATHS:
            continue
        _assert_refused(response, f"{method.upper()} {route}", world)
    assert _snapshot(world) == before


def test_forged_session_from_another_school_is_rejected(world: World, db: None) -> None:
    """Even a session row copied into school A's table does not log anyone in there."""
    from django.contrib.sessions.models import Session

    from tenants.context import school_context

    b_client = login(world.b.host, "admin")
    key = b_client.cookies[settings.SESSION_COOKIE_NAME].value
    with school_context(world.b.schema):
        session = Session.objects.get(session_key=key)
        data, expiry = session.session_data, session.expire_date
    with school_context(world.a.schema):
        Session.objects.create(session_key=key, session_data=data, expire_date=expiry)
    connection.set_schema_to_public()
    intruder = Client(HTTP_HOST=world.a.host)
    intruder.cookies[settings.SESSION_COOKIE_NAME] = key
    response = intruder.get("/registry/students/")
    _assert_refused(response, "forged session", world)
    assert intruder.get("/api/v1/me/").status_code == 401


def test_school_b_credentials_do_not_open_school_a(world: World, db: None) -> None:
    from accounts.models import User
    from tenants.context import school_context

    with school_context(world.b.schema):
        User.objects.create_user(username="only-in-b", password="Only-In-B-pass-1", full_name="乙")
    connection.set_schema_to_public()
    response = Client(HTTP_HOST=world.a.host).post(
        "/accounts/login/", {"username": "only-in-b", "password": "Only-In-B-pass-1"}
    )
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


@pytest.mark.parametrize("route", _routes("config.urls_public"))
def test_bureau_of_another_county_sees_nothing_of_school_a(
    route: str, world: World, a_values: dict[str, str], bureau_host: str
) -> None:
    client = login(bureau_host, world.other_bureau_user)
    path = _fill(route, a_values)
    before = _snapshot(world)
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        body = response.content.decode("utf-8", "replace")
        assert SENTINEL_STUDENT not in body, path
        assert world.a.code not in body, f"{method} {path}"
        assert world.a.name not in body, f"{method} {path}"
        if "<" in route and route not in OPEN_PATHS:
            assert response.status_code in REFUSED | {400}, (
                f"{method} {path}: {response.status_code}"
            )
    assert _snapshot(world) == before


def test_own_bureau_does_see_school_a(world: World, db: None, bureau_host: str) -> None:
    """The control case: the rules above refuse others, not everybody."""
    client = login(bureau_host, world.bureau_user)
    body = client.get("/api/v1/schools/").json()
    codes = {s["code"] for s in body}
    assert codes == {world.a.code, world.b.code}
    assert client.get(f"/api/v1/schools/{world.a.id}/").status_code == 200
    assert client.get(f"/api/v1/schools/{world.c.id}/").status_code == 404


def test_school_a_user_on_bureau_host_is_anonymous(
    world: World, db: None, bureau_host: str
) -> None:
    a_client = login(world.a.host, "admin")
    intruder = Client(HTTP_HOST=bureau_host)
    intruder.cookies[settings.SESSION_COOKIE_NAME] = a_client.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    assert intruder.get("/api/v1/schools/").status_code == 401  # anonymous here
    assert intruder.get("/api/v1/me/").status_code == 401


def test_unknown_and_template_hosts_are_not_served(db: None) -> None:
    assert Client(HTTP_HOST=f"nobody.{settings.BASE_DOMAIN}").get("/").status_code == 404
    assert (
        Client(HTTP_HOST=f"{settings.TENANT_BASE_SCHEMA}.{settings.BASE_DOMAIN}")
        .get("/")
        .status_code
        == 404
    )
