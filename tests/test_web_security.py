"""Web hardening across every route: CSRF on every form, script in names and free text
rendered inert, SQL-injection strings in every filter treated as plain text."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from conftest import PASSWORD, World, login
from tests.test_isolation import _fill, _routes, placeholder_values

INJECTIONS = ["' OR '1'='1", "1; DROP TABLE registry_student; --", "%' UNION SELECT 1--", "\\x00"]


def _csrf_client(host: str, username: str) -> Client:
    """A browser-like client: logged in through the form, CSRF checks enforced."""
    client = Client(HTTP_HOST=host, enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    token = page.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        "/accounts/login/",
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    connection.set_schema_to_public()
    return client


@pytest.mark.parametrize("urlconf", ["config.urls_school", "config.urls_public"])
def test_every_post_without_a_csrf_token_is_refused(urlconf: str, world: World, db: None) -> None:
    host = world.a.host if urlconf.endswith("school") else settings.BASE_DOMAIN
    user = "admin" if urlconf.endswith("school") else world.bureau_user
    client = _csrf_client(host, user)
    values = placeholder_values(school_id=str(world.a.id))
    checked = 0
    for route in _routes(urlconf):
        if route in {"api/v1/auth/token/", "api/schema/", "api/docs/"}:
            continue  # token exchange takes no session; docs are read-only GETs
        response = client.post(_fill(route, values), {"x": "1"})
        connection.set_schema_to_public()
        assert response.status_code in {403, 405}, (
            f"POST /{route} without CSRF: {response.status_code}"
        )
        checked += 1
    assert checked > 10


def test_login_form_itself_needs_the_csrf_token(world: World, db: None) -> None:
    client = Client(HTTP_HOST=world.a.host, enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    connection.set_schema_to_public()
    assert response.status_code == 403


def test_script_in_free_text_is_shown_inert(world: World, db: None) -> None:
    from tenant_apps.registry.tests.factories import valid_row

    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client = login(world.a.host, "registrar")
    row = valid_row(seq=31, current_address=payload, talents=payload, m1_employer=payload)
    created = client.post("/api/v1/students/", row, content_type="application/json")
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    page = client.get(f"/registry/students/{sid}/").content.decode()
    connection.set_schema_to_public()
    assert payload not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # a name carrying markup never gets in at all
    bad = client.post(
        "/api/v1/students/", valid_row(seq=32, name="<b>张三</b>"), content_type="application/json"
    )
    connection.set_schema_to_public()
    assert bad.status_code == 400
    assert "name" in bad.json()["error"]["fields"]


def test_script_in_a_return_reason_is_shown_inert(world: World, db: None) -> None:
    from tenant_apps.registry.tests.factories import valid_row

    registrar, approver = login(world.a.host, "registrar"), login(world.a.host, "approver")
    sid = registrar.post(
        "/api/v1/students/", valid_row(seq=33), content_type="application/json"
    ).json()["id"]
    registrar.post("/api/v1/students/submit/", {"ids": [sid]}, content_type="application/json")
    approver.post(
        "/api/v1/students/school-decision/",
        {"ids": [sid], "approve": False, "reason": "<script>steal()</script>"},
        content_type="application/json",
    )
    page = registrar.get(f"/registry/students/{sid}/").content.decode()
    connection.set_schema_to_public()
    assert "<script>steal()</script>" not in page
    assert "&lt;script&gt;steal()&lt;/script&gt;" in page


@pytest.mark.parametrize("attack", INJECTIONS)
@pytest.mark.parametrize("param", ["q", "class_id", "status", "audit_state", "page"])
def test_injection_strings_in_filters_are_plain_text(
    world: World, db: None, attack: str, param: str
) -> None:
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    client = login(world.a.host, "registrar")
    api = client.get("/api/v1/students/", {param: attack})
    page = client.get("/registry/students/", {param: attack})
    connection.set_schema_to_public()
    assert page.status_code == 200
    assert api.status_code in {200, 404}  # 404: a page number that is not a number
    if api.status_code == 200 and param not in {"page", "class_id"}:
        assert api.json()["count"] == 0
    with school_context(world.a.schema):
        assert Student.objects.exists()  # the table is still there
    connection.set_schema_to_public()


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_strings_in_bureau_filters(world: World, db: None, attack: str) -> None:
    client = login(settings.BASE_DOMAIN, world.bureau_user)
    for path in ("/api/v1/audit/students/", "/api/v1/regions/", "/bureau/audit/"):
        response = client.get(path, {"school_id": attack, "parent": attack})
        assert response.status_code == 200, path
    connection.set_schema_to_public()
