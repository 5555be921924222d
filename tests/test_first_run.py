"""What a first visit meets (issue 12, point 11): every host serves a favicon, so no page
logs a 404 for it, and the pages point browsers at it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from conftest import World, login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/favicon.ico", "/apple-touch-icon.png"])
def test_every_host_serves_the_icons(world: World, bureau_host: str, path: str) -> None:
    for host in (world.a.host, bureau_host):
        response = Client(HTTP_HOST=host).get(path)
        connection.set_schema_to_public()
        assert response.status_code == 200, (host, path)
        assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon", "image/png"}
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body[:4] in {b"\x00\x00\x01\x00", b"\x89PNG"}


def test_pages_name_the_icon(world: World) -> None:
    page = login(world.a.host, "registrar").get("/").content.decode()
    connection.set_schema_to_public()
    assert 'rel="icon" href="/favicon.ico"' in page
