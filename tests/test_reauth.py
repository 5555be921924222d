"""Re-authentication: every sensitive route of both hosts asks for the password again.

The sensitive routes are found from the URLconfs (views marked by accounts.reauth's
`@sensitive`), so a page and its API are checked alike. Each is called with a session
whose password is older than the window and with an API token; each must be refused with
the password prompt and change nothing. A second check walks what every route's view
calls: a view that reaches a service an action lists in `performed_by` must be marked
with that action, so a new sensitive API cannot ship without the guard.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from types import CodeType, ModuleType
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import resolve
from django.utils.module_loading import import_string

from accounts.reauth import (
    REAUTH_CODE,
    REAUTH_FIELD,
    REAUTH_SESSION_KEY,
    SENSITIVE_ACTIONS,
    TRANSFER_APPROVE,
    SensitiveAction,
)
from conftest import PASSWORD, World, login
from tests.test_access_matrix import SCHOOL_USERS, requirement
from tests.test_isolation import (  # noqa: F401 - a_values is a fixture
    _fill,
    _routes,
    _snapshot,
    a_values,
    placeholder_values,
)

SCHOOL, PUBLIC = "config.urls_school", "config.urls_public"
# Who calls a route on the bureau host: the first of these holding the route's right.
PUBLIC_USERS = ("liuyang", "op")
PROJECT = {"accounts", "common", "config", "shared_apps", "tenant_apps", "tenants"}


def _view(route: str, urlconf: str) -> Callable[..., Any]:
    return resolve(_fill(route, placeholder_values()), urlconf).func


def _marked(func: Callable[..., Any]) -> SensitiveAction | None:
    owner = getattr(func, "cls", None) or func
    return getattr(owner, "sensitive", None)


def _sensitive_routes(urlconf: str) -> list[tuple[str, SensitiveAction, bool]]:
    """(route, action, is it an API) for every marked route of the host."""
    found = []
    for route in _routes(urlconf):
        func = _view(route, urlconf)
        action = _marked(func)
        if action is not None:
            found.append((route, action, hasattr(func, "cls")))
    return found


# -- calling the routes -------------------------------------------------------------------


def _transfer(world: World) -> str:
    """An open transfer of school A's student to school B, at school A's step; the 浏阳
    bureau (both schools' county) sees it too."""
    from shared_apps.transfers.models import CaseKind
    from shared_apps.transfers.services import case_open, chain_transfer

    connection.set_schema_to_public()
    case = case_open(
        kind=CaseKind.TRANSFER,
        school_id=world.b.id,
        other_school_id=world.a.id,
        student_uuid=uuid.uuid4(),
        summary={"name": "哨*乙"},
        chain=chain_transfer(receiving_id=world.b.id, sending_id=world.a.id),
        created_by=f"registrar@{world.b.schema}",
    )
    return str(case.pk)


def _bodies(world: World, bureau_host: str, transfer_id: str) -> dict[str, dict[str, Any]]:
    """For each action, what a user would submit to perform it: without the guard these
    would run a rollover, apply a renumbering, delete the problem record, approve the
    transfer, ..."""
    from tenant_apps.registry.lifecycle.rollover import default_school_year

    officer = login(bureau_host, "liuyang")
    preview = officer.get("/api/v1/renumber/", {"stage": "primary", "entry_year": 2024})  # type: ignore[arg-type]
    connection.set_schema_to_public()
    assert preview.status_code == 200, preview.content
    return {
        "rollover": {"action": "run", "school_year": default_school_year()},
        "renumber": {
            "action": "apply",
            "stage": "primary",
            "entry_year": 2024,
            "digest": preview.json()["digest"],
        },
        "problem_delete": {"reason": "重复录入"},
        # the page's form and the API's body alike
        "password_reset": {"confirm": "1"},
        "backup_restore": {"backup_id": 1, "target": "new", "new_code": "2143990009"},
        # the pages' form and the APIs' body (either ignores the other's fields)
        "transfer_approve": {
            "decision": "approve",
            "approve": True,
            "step": 0,
            "case_ids": [transfer_id],
        },
    }


def _call(client: Client, method: str, path: str, body: dict[str, Any], api: bool) -> Any:
    if method == "GET":
        response = client.get(path)
    elif api:
        response = client.post(path, body, content_type="application/json")
    else:
        response = client.post(path, body)
    connection.set_schema_to_public()
    return response


def _asks_for_password(response: Any, method: str, api: bool) -> bool:
    if api or response.get("Content-Type", "").startswith("application/json"):
        if response.status_code != 403:
            return False
        return bool(response.json()["error"]["code"] == REAUTH_CODE)
    if method == "GET":
        return response.status_code == 302 and response["Location"].startswith(
            "/accounts/reauth/?next="
        )
    # A route past its guard may answer with a file (an export), not a page: not the form.
    page = response.content.decode(errors="replace")
    return response.status_code == 200 and f'name="{REAUTH_FIELD}"' in page


def _refused_as_anonymous(response: Any) -> bool:
    return response.status_code == 302 and "/accounts/login/" in response["Location"]


def _session_mark(client: Client, schema: str, at: float) -> None:
    from tenants.context import school_context

    with school_context(schema):
        session = client.session
        session[REAUTH_SESSION_KEY] = int(at)
        session.save()
    connection.set_schema_to_public()


def _token(host: str, username: str) -> str:
    """An API token, obtained the way clients obtain one."""
    response = Client(HTTP_HOST=host).post(
        "/api/v1/auth/token/",
        {"username": username, "password": PASSWORD},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def _state(world: World) -> dict[str, Any]:
    """What a sensitive action would change, beyond the isolation walk's counts."""
    from accounts.models import AuditEntry
    from shared_apps.bureau.models import AuxNumbering
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models.lifecycle import Rollover
    from tenants.context import school_context

    state: dict[str, Any] = dict(_snapshot(world))
    exports = AuditEntry.objects.filter(action__startswith="read.export")
    state["public_exports"] = exports.count()
    state["numberings"] = sorted(AuxNumbering.objects.values_list("stage", "entry_year", "state"))
    state["cases"] = sorted(Case.objects.values_list("number", "state", "step"))
    with school_context(world.a.schema):
        state["a_exports"] = exports.count()
        state["a_rollovers"] = Rollover.objects.count()
    connection.set_schema_to_public()
    return state


def _rights(schema: str, username: str) -> frozenset[str]:
    from accounts.models import User
    from tenants.context import school_context

    if schema == "public":
        connection.set_schema_to_public()
        return User.objects.get(username=username).rights
    with school_context(schema):
        return User.objects.get(username=username).rights


def _caller(route: str, urlconf: str, method: str, schema: str) -> str:
    needed = requirement(route, urlconf, method)
    assert isinstance(needed, tuple), f"/{route} names no right"
    users = SCHOOL_USERS if urlconf == SCHOOL else PUBLIC_USERS
    for username in users:
        if set(needed) & _rights(schema, username):
            return username
    raise AssertionError(f"no test account may call /{route}")


@pytest.mark.parametrize("urlconf", [SCHOOL, PUBLIC])
def test_every_sensitive_route_asks_a_stale_session_and_a_token_for_the_password(
    urlconf: str,
    world: World,
    a_values: dict[str, str],  # noqa: F811 - the fixture
    bureau_host: str,
    settings: Any,
) -> None:
    # given: every sensitive route of the host, and for each a caller holding its right
    host, schema = (world.a.host, world.a.schema) if urlconf == SCHOOL else (bureau_host, "public")
    routes = _sensitive_routes(urlconf)
    expected = (
        {
            "student_export",
            "audit_export",
            "problem_delete",
            "rollover",
            "transfer_approve",
            "password_reset",
        }
        if urlconf == SCHOOL
        else {"audit_export", "renumber", "backup_restore", "transfer_approve"}
    )
    assert {action.code for _, action, _ in routes} == expected
    transfer_id = _transfer(world)
    bodies = _bodies(world, bureau_host, transfer_id)
    sessions: dict[str, Client] = {}
    tokens: dict[str, str] = {}
    problems = []
    for route, action, api in routes:
        values = a_values | ({"case_id": transfer_id} if action is TRANSFER_APPROVE else {})
        path = _fill(route, values)
        for method in sorted(action.methods):
            username = _caller(route, urlconf, method, schema)
            if username not in sessions:
                sessions[username] = login(host, username)
                tokens[username] = _token(host, username)
            session = sessions[username]
            token = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {tokens[username]}")
            body = bodies.get(action.code, {})
            what = f"{method} /{route} ({action.code}) as {username}"
            before = _state(world)

            # when: (a) the session's password was entered before the window
            _session_mark(session, schema, time.time() - settings.REAUTH_MINUTES * 60 - 5)
            stale = _call(session, method, path, body, api)
            # (b) the token, its password older than the window (shrunk to nothing)
            window, settings.REAUTH_MINUTES = settings.REAUTH_MINUTES, 0
            by_token = _call(token, method, path, body, api)
            settings.REAUTH_MINUTES = window

            # then: both are asked for the password, and nothing happened
            if not _asks_for_password(stale, method, api):
                problems.append(f"{what}, stale session: {stale.status_code}")
            if api and not _asks_for_password(by_token, method, api):
                problems.append(f"{what}, token: {by_token.status_code}")
            if not api and not _refused_as_anonymous(by_token):
                problems.append(f"{what}, token on a page: {by_token.status_code}")
            if _state(world) != before:
                problems.append(f"{what}: something changed")

            # control: the same credentials, with the password just entered, get past
            # the guard (an empty body: the route answers, nothing is performed)
            _session_mark(session, schema, time.time())
            fresh = _call(session, method, path, {}, api)
            if _asks_for_password(fresh, method, api):
                problems.append(f"{what}: asked again right after the password")
            if api:
                confirmed = token.post(
                    "/api/v1/auth/reauth/", {"password": PASSWORD}, "application/json"
                )
                connection.set_schema_to_public()
                assert confirmed.status_code == 204, what
                if _asks_for_password(_call(token, method, path, {}, api), method, api):
                    problems.append(f"{what}: token asked again right after the password")
    assert problems == [], "\n".join(problems)


def test_every_sensitive_action_guards_a_route_and_names_real_services() -> None:
    marked = {
        action.code for urlconf in (SCHOOL, PUBLIC) for _, action, _ in _sensitive_routes(urlconf)
    }
    assert marked == {action.code for action in SENSITIVE_ACTIONS}
    for action in SENSITIVE_ACTIONS:
        for dotted in action.performed_by:
            assert callable(import_string(dotted)), dotted


# -- what a view reaches ------------------------------------------------------------------


def _ours(obj: object) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] in PROJECT


def _codes(code: CodeType) -> Iterator[CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


def _callees(func: Any, owner: type | None) -> Iterator[Any]:
    """What a function may call: the globals, imported modules' attributes, closure
    values and owner-class attributes named in its code (and its nested code). Over-
    approximate on purpose: a name that may be a sensitive service counts."""
    if hasattr(func, "__wrapped__"):
        yield func.__wrapped__
    code = getattr(func, "__code__", None)
    if code is None:
        return
    for cell in getattr(func, "__closure__", None) or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            continue
    names = {name for c in _codes(code) for name in c.co_names}
    scopes: list[Any] = []
    for name in names:
        for value in (func.__globals__.get(name), sys.modules.get(name)):
            if value is None:
                continue
            yield value
            if isinstance(value, ModuleType) and value.__name__.split(".")[0] in PROJECT:
                scopes.append(value)
    if owner is not None:
        scopes.append(owner)
    for scope in scopes:
        for name in names:
            value = getattr(scope, name, None)
            if value is not None:
                yield value


def _reaches(entry: Any, owner: type | None) -> set[int]:
    """Ids of every project function reachable from `entry`."""
    seen: dict[int, Any] = {}
    stack = [entry]
    while stack:
        item = stack.pop()
        item = getattr(item, "__func__", item)  # bound and class methods
        if id(item) in seen or not callable(item) or isinstance(item, type):
            continue
        if not (_ours(item) or hasattr(item, "__wrapped__")):
            continue
        seen[id(item)] = item
        stack.extend(_callees(item, owner))
    return set(seen)


HANDLERS = ("get", "post", "put", "patch", "delete")


def _entries(func: Callable[..., Any]) -> list[tuple[str, Any, type | None]]:
    """(method or "*", entry function, owner class) of a route's view."""
    view_class = getattr(func, "cls", None)
    if view_class is None:
        return [("*", func, None)]
    return [
        (name.upper(), getattr(view_class, name), view_class)
        for name in HANDLERS
        if hasattr(view_class, name)
    ]


def test_every_route_that_performs_a_sensitive_action_is_marked_with_it() -> None:
    performers = {
        id(import_string(dotted)): action
        for action in SENSITIVE_ACTIONS
        for dotted in action.performed_by
    }
    problems = []
    reached_by_marked: set[str] = set()
    for urlconf in (SCHOOL, PUBLIC):
        for route in _routes(urlconf):
            func = _view(route, urlconf)
            marked = _marked(func)
            for method, entry, owner in _entries(func):
                for action in {performers[i] for i in _reaches(entry, owner) if i in performers}:
                    if marked is not action:
                        problems.append(f"{method} /{route} performs {action.code}, unmarked")
                    elif method != "*" and method not in action.methods:
                        problems.append(f"{method} /{route} performs {action.code} unguarded")
                    else:
                        reached_by_marked.add(f"{urlconf} {route}")
            if marked is not None and marked.performed_by:
                assert f"{urlconf} {route}" in reached_by_marked, (
                    f"/{route} is marked {marked.code} but reaches none of its services"
                )
    assert problems == [], "\n".join(problems)
