"""Issue 12, point 6: `make run` serves with DEBUG off unless asked, and what people meet
when something goes wrong is the product's own page, in Chinese, with a way back."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from conftest import World, login

WAY_BACK = ("返回首页", "返回上一页", "data-history-back")


def test_make_run_serves_with_debug_off_unless_asked(tmp_path: Path) -> None:
    from deploy.local import debug_provide, keys_kept
    from tests.test_secrets import _settings_load

    # given: make run's environment with nothing said about DEBUG
    env: dict[str, str] = {}
    # when / then: off by default; `make run DEBUG=1` (--debug) or DJANGO_DEBUG=1 turn it on
    assert debug_provide(env, debug=False) is False
    assert env["DJANGO_DEBUG"] == "0"
    on = {"DJANGO_DEBUG": "0"}
    assert debug_provide(on, debug=True) is True
    assert on["DJANGO_DEBUG"] == "1"
    assert debug_provide({"DJANGO_DEBUG": "1"}, debug=False) is True
    # the keys the launcher keeps pass the DEBUG-off key check
    keys = keys_kept(tmp_path / "secrets.env")
    loaded = _settings_load("0", **keys)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)[2] is False


def test_static_files_are_served_with_debug_off(world: World, db: None, bureau_host: str) -> None:
    assert settings.DEBUG is False
    for host in (world.a.host, bureau_host):
        for path in ("/static/css/app.css", "/static/js/page.js"):
            response = Client(HTTP_HOST=host).get(path)
            assert response.status_code == 200, (host, path)
            assert b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_not_found_is_the_products_own_page(world: World, db: None, bureau_host: str) -> None:
    for client in (login(world.a.host, "teacher"), login(bureau_host, world.bureau_user)):
        response = client.get("/registry/no-such-page/")
        body = response.content.decode()
        assert response.status_code == 404
        assert "页面不存在" in body
        assert all(part in body for part in WAY_BACK)
        assert "Page not found" not in body
        assert "css/app.css" in body


def test_forbidden_is_the_products_own_page(world: World, db: None) -> None:
    response = login(world.a.host, "teacher").get("/accounts/users/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "无权访问" in body
    assert all(part in body for part in WAY_BACK)


def test_server_error_page_renders_without_a_request(db: None) -> None:
    from django.views.defaults import server_error

    # Django renders 500.html with an empty context: no request, no context processors.
    body = render_to_string("500.html")
    assert "系统出错" in body
    assert all(part in body for part in WAY_BACK)
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "系统出错" in response.content.decode()
    assert "Server Error" not in response.content.decode()


def test_an_expired_form_is_the_products_own_page(world: World, db: None) -> None:
    # given: a signed-in class teacher whose form carries no valid CSRF token
    client = login(world.a.host, "teacher")
    client.handler.enforce_csrf_checks = True
    # when
    response = client.post("/accounts/password/", {"old_password": "x"})
    body = response.content.decode()
    # then
    assert response.status_code == 403
    assert "页面已过期" in body
    assert all(part in body for part in WAY_BACK)
    assert "CSRF verification failed" not in body
