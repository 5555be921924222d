"""Issue 12, point 6: no page shows an action its viewer lacks the right to do.

Every page of both hosts (every route that answers GET with HTML, parameters filled with
school A's real objects as tests/test_isolation.py fills them) is rendered as every school
role and every bureau role. Each form, each button's formaction and each link on it that
points at a route of the product must be usable by that viewer: a link (or GET form) is
followed and must not answer 403; a POST form's target must accept the viewer's rights
by the access matrix's own rule (`requirement`/`allowed`), so no data-changing POST is
fired."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.db import connection
from django.test import Client
from django.urls import Resolver404, resolve

from conftest import SENTINEL_STUDENT, World, login
from tests.test_access_matrix import PUBLIC_USERS, SCHOOL_USERS, allowed, requirement
from tests.test_isolation import _fill, _routes, a_values  # noqa: F401 - fixture

# Not pages: the API, file links, language switch, the session-ending logout.
SKIPPED_PREFIXES = ("api/", "files/", "i18n/", "static/", "accounts/logout/")
LINKS_PER_ROUTE = 3  # distinct URLs followed per route and role: enough to reach each kind


class Targets(HTMLParser):
    """Forms (method, action), buttons' formaction and links of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (method, url)
        self._form_method: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            method = (a.get("method") or "get").lower()
            self._form_method.append(method)
            self.found.append((method, a.get("action", "")))
        elif tag in {"button", "input"} and "formaction" in a:
            method = (a.get("formmethod") or (self._form_method or ["get"])[-1]).lower()
            self.found.append((method, a["formaction"]))
        elif tag == "a" and "href" in a:
            self.found.append(("link", a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form_method:
            self._form_method.pop()


def _own_path(page: str, url: str, host: str) -> str | None:
    """The path (and query) of `url` when it is a page of this host, else None."""
    if url.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
        return None
    absolute = urlsplit(urljoin(f"http://{host}{page}", url))
    if absolute.hostname != host.split(":")[0]:
        return None
    path = absolute.path + (f"?{absolute.query}" if absolute.query else "")
    if path.lstrip("/").startswith(SKIPPED_PREFIXES):
        return None
    return path


def _walk(client: Client, host: str, urlconf: str, role: str, values: dict[str, str]) -> list[str]:
    problems: list[str] = []
    followed: dict[str, int] = {}
    per_route: dict[str, int] = {}
    for route in _routes(urlconf):
        if route.startswith(SKIPPED_PREFIXES):
            continue
        page = _fill(route, values)
        response = client.get(page)
        connection.set_schema_to_public()
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = Targets()
        parser.feed(response.content.decode())
        for method, url in parser.found:
            path = _own_path(page, url, host)
            if path is None:
                continue
            try:
                match = resolve(urlsplit(path).path, urlconf)
            except Resolver404:
                problems.append(f"{role} on {page}: {method} {path} leads nowhere")
                continue
            where = f"{role} on {page}: {method} {path}"
            if method == "post":
                needed = requirement(match.route, urlconf, "POST")
                if not allowed(role, needed):
                    problems.append(f"{where} needs {needed}")
                continue
            if path not in followed:
                if per_route.get(match.route, 0) >= LINKS_PER_ROUTE:
                    continue
                per_route[match.route] = per_route.get(match.route, 0) + 1
                followed[path] = client.get(path).status_code
                connection.set_schema_to_public()
            if followed[path] == 403:
                problems.append(f"{where} answers 403")
    return problems


def test_school_pages_show_only_actions_the_viewer_may_take(
    world: World,
    a_values: dict[str, str],  # noqa: F811
) -> None:
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    # A registered student in school A's first class (the class teacher's), so that its
    # page offers what registered students offer (转出到省外, 异动).
    with school_context(world.a.schema):
        Student.objects.filter(name=SENTINEL_STUDENT).update(audit_state="registered")
        SchoolClass.objects.update(teacher_username="teacher")
    problems: list[str] = []
    for username, role in SCHOOL_USERS.items():
        client = login(world.a.host, username)
        problems += _walk(client, world.a.host, "config.urls_school", role, a_values)
    assert problems == [], "\n".join(problems)


def test_bureau_pages_show_only_actions_the_viewer_may_take(
    world: World,
    a_values: dict[str, str],  # noqa: F811
    bureau_host: str,
) -> None:
    from accounts.models import User
    from accounts.services import user_create
    from conftest import PASSWORD

    for username, role in PUBLIC_USERS.items():
        region = None if role == "platform_operator" else "430181000000"
        user_create(username=username, full_name=username, roles=[role], region_id=region)
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.must_change_password = False
        user.save()
    problems: list[str] = []
    for username, role in PUBLIC_USERS.items():
        client = login(bureau_host, username)
        problems += _walk(client, bureau_host, "config.urls_public", role, a_values)
    assert problems == [], "\n".join(problems)
