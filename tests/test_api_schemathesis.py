"""Schemathesis against both hosts' schemas (issue 14 point 6).

Each operation of the school host (as a school administrator who is also registrar) and
of the bureau host (as a bureau officer) gets a few generated requests, sent through
Django's WSGI application with the host's name, authenticated by an API token. Any 5xx,
any status the schema does not list, any body that does not match its declared shape
fails. Derandomised and bounded, so a run is repeatable and short.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import World
from tests.test_api_schema import generate

APP = get_wsgi_application()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = hypothesis_settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    # The token fixture is set up once per operation; every example may reuse it.
    suppress_health_check=list(HealthCheck),
)

# Operations that would end the session the run is authenticated with (or lock it).
EXCLUDED = {
    "/api/v1/auth/password/": "changes the password: every other token of the user ends",
    "/api/v1/auth/reauth/": "wrong passwords count towards the account's lock-out",
    "/api/v1/me/sessions/end-others/": "signs out every other session and token",
    "/api/v1/me/sessions/{session_id}/end/": "ends a session of the user",
    "/api/v1/me/tokens/{token_id}/revoke/": "revokes a token of the user (the run's own)",
}


def _schema(urlconf: str) -> schemathesis.schemas.BaseSchema:
    raw, _ = generate(urlconf)
    missing = set(EXCLUDED) - set(raw["paths"])
    assert not missing, f"exclusions of paths that no longer exist: {missing}"
    schema: Any = schemathesis.openapi.from_dict(raw)
    # Valid requests only (the schema's shapes), from the declared examples and fuzzing:
    # what a correct client sends must never meet a 5xx or an undeclared answer.
    schema.config.generation.update(modes=[GenerationMode.POSITIVE], deterministic=True)
    schema.config.phases.update(phases=["examples", "fuzzing"])
    for path in EXCLUDED:
        schema = schema.exclude(path=path)
    return schema


school_schema = _schema("config.urls_school")
bureau_schema = _schema("config.urls_public")


def _token(schema_name: str, username: str, extra_roles: tuple[str, ...] = ()) -> str:
    from django.contrib.auth.models import Group

    from accounts.models import User
    from accounts.sessions import api_token_issue
    from tenants.context import school_context

    with school_context(schema_name):
        user = User.objects.get(username=username)
        # Inside the test's transaction: rolled back with it.
        user.groups.add(*Group.objects.filter(name__in=extra_roles))
        return api_token_issue(user=user, client="schemathesis").token


@pytest.fixture(autouse=True)
def _connection_kept() -> Iterator[None]:
    """Django's WSGI handler closes the database connection when a request finishes,
    which would end the test's transaction; its test client disconnects the same
    signal (django.test.client.ClientHandler)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def school_auth(world: World, db: None) -> dict[str, str]:
    # The school's 学籍管理员, who is also its administrator: the widest rights there.
    token = _token(world.a.schema, "registrar", ("school_admin",))
    connection.set_schema_to_public()
    return {"Authorization": f"Token {token}"}


@pytest.fixture
def bureau_auth(world: World, db: None) -> dict[str, str]:
    token = _token("public", world.bureau_user)
    return {"Authorization": f"Token {token}"}


@school_schema.parametrize()
@EXAMPLES
def test_school_api_matches_its_schema(
    case: schemathesis.Case, world: World, school_auth: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"http://{world.a.host}", app=APP, headers=school_auth, checks=CHECKS
    )
    connection.set_schema_to_public()


@bureau_schema.parametrize()
@EXAMPLES
def test_bureau_api_matches_its_schema(
    case: schemathesis.Case, bureau_auth: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"http://{settings.BASE_DOMAIN}", app=APP, headers=bureau_auth, checks=CHECKS
    )
    connection.set_schema_to_public()
