"""Every endpoint of both hosts, called by every role, against the role table.

Each view declares what it needs (a right through `has_right`/`right_required`, or
"any signed-in user", or nothing for the login page and API docs). For every route and
for GET and POST, a role whose rights include the requirement must get past the check
(anything but 403), every other role must get 403. A view that declares nothing fails
this test, so a new endpoint cannot ship without a rule.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import resolve

from accounts.roles import ROLE_RIGHTS, Role
from conftest import PASSWORD, World, login
from tests.test_isolation import _fill, _routes, a_values, placeholder_values  # noqa: F401 - fixture

OPEN = {
    "accounts/login/",
    "i18n/setlang/",
    "api/schema/",
    "api/docs/",
    "api/v1/auth/token/",
    "files/<str:token>/",
}
# The public certificate check (reports.certificates): no sign-in, rate-limited.
OPEN |= {"verify/<str:verify_code>/", "api/v1/reports/verify/<str:verify_code>/"}
# The family photo upload link (registry.photos.family): no sign-in, the token is the key.
OPEN |= {"registry/photos/family/<str:family_token>/"}
SIGNED_IN = {
    "accounts/password/",
    "accounts/logout/",
    "jobs/",
    # account security: the user's own sessions, re-entering the password, 2FA
    "accounts/sessions/",
    "accounts/sessions/<int:session_id>/end/",
    "accounts/sessions/end-others/",
    "accounts/tokens/<int:token_id>/revoke/",
    "accounts/reauth/",
    "accounts/two-factor/",
}
SCHOOL_USERS = {
    "admin": Role.SCHOOL_ADMIN,
    "registrar": Role.REGISTRAR,
    "approver": Role.SCHOOL_APPROVER,
    "principal": Role.PRINCIPAL,
    "teacher": Role.CLASS_TEACHER,
    "subject": Role.SUBJECT_TEACHER,
    "staff": Role.ALL_TEACHERS,
}
PUBLIC_USERS = {
    "m_registrar": Role.BUREAU_REGISTRAR,
    "m_approver": Role.BUREAU_APPROVER,
    "m_operator": Role.PLATFORM_OPERATOR,
}


def requirement(route: str, urlconf: str, method: str) -> tuple[str, ...] | str | None:
    """The rights a route accepts for `method` (any one suffices); "signed_in", or None
    when open to anyone."""
    if route in OPEN:
        return None
    if route in SIGNED_IN:
        return "signed_in"
    func = resolve(
        "/" + _fill(route, placeholder_values()).lstrip("/"),
        urlconf,
    ).func
    if hasattr(func, "required_right"):
        return tuple(func.required_right)
    view_class = getattr(func, "cls", None)
    assert view_class is not None, f"/{route} declares no right"
    for permission in view_class.permission_classes:
        if hasattr(permission, "read_right"):
            return tuple(permission.read_right if method == "GET" else permission.write_right)
        if permission.__name__ == "Authenticated":
            return "signed_in"
    raise AssertionError(f"/{route} declares no right")


def allowed(role: str, needed: tuple[str, ...] | str | None) -> bool:
    return allowed_with(ROLE_RIGHTS[role], needed)


def allowed_with(rights: frozenset[str] | set[str], needed: tuple[str, ...] | str | None) -> bool:
    if needed is None or needed == "signed_in":
        return True
    alternatives = (needed,) if isinstance(needed, str) else needed
    return any(right in rights for right in alternatives)


def _check_rights(
    client,
    route: str,
    urlconf: str,
    rights: frozenset[str] | set[str],
    values: dict[str, str],
    who: str = "",
) -> list[str]:
    problems = []
    for method in ("get", "post"):
        needed = requirement(route, urlconf, method.upper())
        response = getattr(client, method)(_fill(route, values))
        connection.set_schema_to_public()
        denied = response.status_code == 403
        if allowed_with(rights, needed) == denied:
            problems.append(
                f"{method.upper()} /{route} as {who} (needs {needed}): {response.status_code}"
            )
    return problems


def _check(client, route: str, urlconf: str, role: str, values: dict[str, str]) -> list[str]:
    return _check_rights(client, route, urlconf, ROLE_RIGHTS[role], values, who=role)


def test_school_routes_follow_the_role_table(world: World, a_values: dict[str, str]) -> None:  # noqa: F811
    problems = []
    for username, role in SCHOOL_USERS.items():
        client = login(world.a.host, username)
        for route in _routes("config.urls_school"):
            if route == "accounts/logout/":
                continue  # would end the session the loop is using
            problems += _check(client, route, "config.urls_school", role, a_values)
    assert problems == []


def test_public_routes_follow_the_role_table(
    world: World,
    a_values: dict[str, str],  # noqa: F811
    bureau_host: str,
) -> None:
    from accounts.models import User
    from accounts.services import user_create

    for username, role in PUBLIC_USERS.items():
        region = None if role == Role.PLATFORM_OPERATOR else "430181000000"
        user_create(username=username, full_name=username, roles=[role], region_id=region)
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.must_change_password = False
        user.save()
    # Ids of accounts and sessions are per schema: a_values' user_id and session_id name
    # rows of school A, and in the public schema the same numbers may be one of the
    # accounts this loop signs in as (so a POST to .../active/ or a session's end/ would
    # sign it out, depending on which tests ran before). Aim them at a public account
    # nobody signs in as, and at a session of that account.
    from accounts.models import UserSession

    target = User.objects.create(username="m_target", full_name="目标账号", is_active=False)
    session = UserSession.objects.create(user_id=target.pk, session_key="matrix-public-target")
    values = a_values | {"user_id": str(target.pk), "session_id": str(session.pk)}
    problems = []
    for username, role in PUBLIC_USERS.items():
        client = login(bureau_host, username)
        for route in _routes("config.urls_public"):
            if route == "accounts/logout/":
                continue
            problems += _check(client, route, "config.urls_public", role, values)
    assert problems == []


def test_a_user_groups_member_follows_the_same_table(
    world: World,
    a_values: dict[str, str],  # noqa: F811
) -> None:
    """Groups are deny-by-default too: an account with no role, holding only a user
    group's shared rights (accounts.groups), passes exactly the routes they open."""
    from accounts.groups import group_create
    from accounts.models import User
    from common.actor import Actor
    from tenants.context import school_context

    rights = {"grades.manage", "stats.view", "classes.manage"}
    with school_context(world.a.schema):
        from accounts.services import user_create

        user_create(username="grouped", full_name="组员", roles=[])
        user = User.objects.get(username="grouped")
        user.set_password(PASSWORD)
        user.must_change_password = False
        user.save()
        group_create(
            name="矩阵组", rights=rights, member_ids=[user.pk], actor=Actor("admin", "a", "x")
        )
    connection.set_schema_to_public()
    client = login(world.a.host, "grouped")
    problems = []
    for route in _routes("config.urls_school"):
        if route == "accounts/logout/":
            continue
        problems += _check_rights(
            client, route, "config.urls_school", rights, a_values, who="group member"
        )
    assert problems == []


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_a_row_in_the_table(role: Role) -> None:
    assert role in ROLE_RIGHTS
