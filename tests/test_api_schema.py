"""The OpenAPI schema of each host is generated without a single drf-spectacular warning
or error (issue 14 point 6): no two components share a name, operationIds are unique,
every view declares its bodies. A client generated from it is then the API's real shape."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from conftest import World

URLCONFS = ["config.urls_school", "config.urls_public"]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def generate(urlconf: str) -> tuple[dict[str, Any], list[str]]:
    """The schema of one host and every warning or error emitted while building it."""
    GENERATOR_STATS.reset()
    emitted: list[str] = []
    original = GENERATOR_STATS.emit

    def capture(msg: str, severity: str) -> None:
        emitted.append(f"{severity}: {msg}")

    GENERATOR_STATS.emit = capture  # type: ignore[method-assign]
    try:
        schema = SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
    finally:
        GENERATOR_STATS.emit = original  # type: ignore[method-assign]
    return schema, emitted


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_schema_generates_without_warnings(urlconf: str) -> None:
    _schema, emitted = generate(urlconf)
    assert emitted == [], "\n".join(emitted)


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_operation_ids_are_unique(urlconf: str) -> None:
    schema, _ = generate(urlconf)
    ids = Counter(
        op["operationId"]
        for item in schema["paths"].values()
        for method, op in item.items()
        if method in METHODS
    )
    assert [i for i, n in ids.items() if n > 1] == []


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_component_names_are_unique_and_every_4xx_has_the_error_shape(urlconf: str) -> None:
    schema, _ = generate(urlconf)
    names = list(schema["components"]["schemas"])
    # Case-insensitive too: a generated client's file names would collide.
    assert [n for n, c in Counter(n.lower() for n in names).items() if c > 1] == []
    wrong = [
        f"{method.upper()} {path} {code}"
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
        for code, response in op["responses"].items()
        if code.startswith("4")
        and response.get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/ErrorResponse"}
    ]
    assert wrong == []


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_no_free_form_bodies(urlconf: str) -> None:
    """A body is a named component, a list of one, or a file, never a bare object."""
    schema, _ = generate(urlconf)
    loose = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            bodies = [("request", op.get("requestBody", {}))] + [
                (code, r) for code, r in op["responses"].items()
            ]
            for where, body in bodies:
                for media, content in body.get("content", {}).items():
                    s = content.get("schema", {})
                    if s.get("type") == "object" and "properties" not in s:
                        loose.append(f"{method.upper()} {path} {where} {media}")
    assert loose == []


@pytest.mark.django_db
def test_each_host_serves_its_own_schema(world: World, bureau_host: str) -> None:
    school = Client(HTTP_HOST=world.a.host).get("/api/schema/", {"format": "json"})
    bureau = Client(HTTP_HOST=bureau_host).get("/api/schema/", {"format": "json"})
    assert school.status_code == bureau.status_code == 200
    assert "/api/v1/students/" in school.json()["paths"]
    assert "/api/v1/students/" not in bureau.json()["paths"]
    assert "/api/v1/bureau/cases/" in bureau.json()["paths"]
