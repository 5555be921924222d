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
        body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        assert body[:4] in {b"\x00\x00\x01\x00", b"\x89PNG"}


def test_pages_name_the_icon(world: World) -> None:
    page = login(world.a.host, "registrar").get("/").content.decode()
    connection.set_schema_to_public()
    assert 'rel="icon" href="/favicon.ico"' in page


def test_setup_platform_summarises_the_migrations(db: None) -> None:
    """A first `make run` printed one line per migration and schema (thousands); the
    command now prints a summary unless -v 2 asks for the detail."""
    import io

    from django.core.management import call_command

    from tenants.management.commands.setup_platform import _migrations_summary

    out = io.StringIO()
    call_command("setup_platform", executor="standard", stdout=out)
    connection.set_schema_to_public()
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert len(lines) <= 3, lines
    assert "数据库迁移：全部已是最新。" in lines
    first_run = _migrations_summary(
        {"public": 0}, {"public": 40, "school_template": 30, "s2143016965": 30}
    )
    assert first_run == "数据库迁移：公共库 40 项，学校库（含模板）2 个共 60 项。"
