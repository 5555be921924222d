"""Malformed input is a clear 400, never a 500, on every route of both hosts.

* A NUL byte in a query parameter, a form field, the path, a cookie or a header is
  refused by `common.middleware.NulByteRejectMiddleware` before any view: the API's
  error body on /api/ paths, a short Chinese page elsewhere.
* A JSON body that is not one object (a list, a string, a number, true, null), or that
  holds a NUL, is refused by `common.parsers.ObjectJSONParser`, the API's only JSON parser.
* Every response carries the Content-Security-Policy; only Swagger UI's page adds its CDN.

The routes are the isolation walk's (tests/test_isolation.py), filled with school A's real
objects; each request is sent as a user whose role carries the route's right (the access
matrix's table), so it reaches the view.
"""

from __future__ import annotations

import inspect

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import resolve
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.roles import Role
from common.parsers import ObjectJSONParser
from conftest import World, login
from tests.test_access_matrix import SCHOOL_USERS, allowed, requirement
from tests.test_isolation import _fill, _routes, a_values, placeholder_values  # noqa: F401

SCHOOL = "config.urls_school"
PUBLIC = "config.urls_public"
# The public host's test accounts (conftest.py) and their roles.
PUBLIC_ACCOUNTS = {
    "liuyang": (Role.BUREAU_REGISTRAR, Role.BUREAU_APPROVER),
    "op": (Role.PLATFORM_OPERATOR,),
}
NON_OBJECTS = {
    "list": b"[1, 2]",
    "string": b'"x"',
    "number": b"1",
    "true": b"true",
    "null": b"null",
}
NUL = "%00"


def _view_class(route: str, urlconf: str) -> type[APIView] | None:
    func = resolve(_fill(route, placeholder_values()), urlconf).func
    cls = getattr(func, "cls", None)
    return cls if isinstance(cls, type) and issubclass(cls, APIView) else None


def _api_cases(urlconf: str) -> list[tuple[str, str]]:
    """(route, method) for every write method of every DRF view of `urlconf`."""
    cases = []
    for route in _routes(urlconf):
        cls = _view_class(route, urlconf)
        if cls is None:
            continue
        cases += [(route, m) for m in ("post", "put", "patch", "delete") if hasattr(cls, m)]
    return cases


def _account_for(route: str, urlconf: str, method: str) -> str:
    """A test account of the route's host whose role carries what the route needs."""
    needed = requirement(route, urlconf, method.upper())
    if urlconf == SCHOOL:
        candidates = {user: (role,) for user, role in SCHOOL_USERS.items()}
    else:
        candidates = PUBLIC_ACCOUNTS  # type: ignore[assignment]
    for user, roles in candidates.items():
        if any(allowed(role, needed) for role in roles):
            return user
    raise AssertionError(f"no test account may {method.upper()} /{route} (needs {needed})")


def _reads_body(cls: type[APIView], method: str) -> bool:
    """Whether the handler itself reads request.data (then a bad body must stop it)."""
    return "request.data" in inspect.getsource(getattr(cls, method))


def _host(world: World, urlconf: str, bureau_host: str) -> str:
    return world.a.host if urlconf == SCHOOL else bureau_host


# --- NUL bytes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urlconf", "username"), [(SCHOOL, "admin"), (PUBLIC, "liuyang"), (PUBLIC, "op")]
)
def test_nul_in_a_query_parameter_is_a_400_on_every_route(
    urlconf: str,
    username: str,
    world: World,
    a_values: dict[str, str],  # noqa: F811
    bureau_host: str,
) -> None:
    # given: a signed-in user of the host
    client = login(_host(world, urlconf, bureau_host), username)
    problems = []
    for route in _routes(urlconf):
        if route == "accounts/logout/":
            continue
        path = _fill(route, a_values)
        for method in ("get", "post"):
            # when: one query parameter carries a NUL byte
            response = getattr(client, method)(f"{path}?q=a{NUL}b&page=1")
            connection.set_schema_to_public()
            # then: the middleware refuses it with the product's error, naming the parameter
            what = f"{method.upper()} {path}"
            if response.status_code != 400:
                problems.append(f"{what}: {response.status_code}")
                continue
            if route.startswith("api/"):
                error = response.json()["error"]
                expected = "网址参数“q”含有不允许的空字符（NUL），请删除后重试。"
                assert error == {
                    "code": "invalid",
                    "message": expected,
                    "fields": {"q": [expected]},
                }
            else:
                body = response.content.decode()
                assert response["Content-Type"].startswith("text/html"), what
                assert "网址参数“q”含有不允许的空字符（NUL）" in body, what
    assert problems == []


def test_the_six_routes_that_failed_on_nul_now_answer_400(
    world: World, db: None, bureau_host: str
) -> None:
    """The probe's routes: student list page and API, audit log and its export, regions."""
    school = login(world.a.host, "admin")
    bureau = login(bureau_host, "liuyang")
    for client, path in (
        (school, "/registry/students/"),
        (school, "/api/v1/students/"),
        (school, "/accounts/audit/"),
        (school, "/accounts/audit/export/"),
        (school, "/api/v1/regions/"),
        (bureau, "/accounts/audit/"),
        (bureau, "/api/v1/regions/"),
    ):
        for query in ("q", "name", "parent", "username", "action", "date_from"):
            clean = client.get(f"{path}?{query}=ab")
            connection.set_schema_to_public()
            assert clean.status_code not in (400, 500), f"{path}?{query}: {clean.status_code}"
            response = client.get(f"{path}?{query}=a{NUL}b")
            connection.set_schema_to_public()
            assert response.status_code == 400, f"{path}?{query}: {response.status_code}"


def test_nul_in_a_parameter_name_path_form_field_cookie_or_header_is_a_400(
    world: World, db: None
) -> None:
    host = world.a.host
    api = login(host, "admin")
    # a parameter's name
    response = api.get(f"/api/v1/students/?q{NUL}x=1")
    assert response.status_code == 400
    message = "网址参数“q\\0x”含有不允许的空字符（NUL），请删除后重试。"
    assert response.json()["error"] == {
        "code": "invalid",
        "message": message,
        "fields": {"q\\0x": [message]},
    }
    # the path
    response = api.get(f"/registry/students/{NUL}/")
    assert response.status_code == 400
    assert "网址中含有不允许的空字符（NUL）" in response.content.decode()
    # a form field of a page (the login form, before anyone is signed in)
    response = Client(HTTP_HOST=host).post(
        "/accounts/login/", {"username": "ad\x00min", "password": "x"}
    )
    assert response.status_code == 400
    assert "表单字段“username”含有不允许的空字符（NUL）" in response.content.decode()
    # a form field of the API
    response = api.post("/api/v1/students/", {"name": "张\x00三"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "name": ["表单字段“name”含有不允许的空字符（NUL），请删除后重试。"]
    }
    # a cookie
    client = Client(HTTP_HOST=host)
    client.cookies[settings.SESSION_COOKIE_NAME] = "abcdefgh\x00ijkl"
    response = client.get("/accounts/login/")
    assert response.status_code == 400
    assert f"Cookie “{settings.SESSION_COOKIE_NAME}”" in response.content.decode()
    # a header
    response = Client(HTTP_HOST=host, HTTP_X_REQUESTED_WITH="a\x00b").get("/api/v1/me/")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "请求头“X-Requested-With”含有不允许的空字符（NUL）。"
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"name=%E5%BC%A0%E4%B8%89&address=a%00b"),
        (
            "multipart/form-data; boundary=XX",
            b'--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\n\xe5\xbc\xa0\r\n'
            b'--XX\r\nContent-Disposition: form-data; name="address"\r\n\r\na\x00b\r\n'
            b"--XX--\r\n",
        ),
    ],
)
def test_nul_in_a_put_form_is_a_400(
    content_type: str,
    body: bytes,
    world: World,
    a_values: dict[str, str],  # noqa: F811
) -> None:
    """Django parses only POST forms; a PUT form reaches DRF's form parsers, which refuse
    the NUL as well."""
    client = login(world.a.host, "registrar")
    path = f"/api/v1/students/{a_values['student_id']}/"
    response = client.generic("PUT", path, body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "parse_error",
        "message": "表单字段“address”含有不允许的空字符（NUL），请删除后重试。",
    }


def test_requests_without_nul_pass_the_middleware(world: World, db: None) -> None:
    """The control case: the same requests without the NUL reach their views."""
    client = login(world.a.host, "admin")
    assert client.get("/api/v1/students/?q=ab&page=1").status_code == 200
    assert client.get("/registry/students/?q=ab").status_code == 200
    response = Client(HTTP_HOST=world.a.host).post(
        "/accounts/login/", {"username": "admin", "password": "wrong"}
    )
    assert response.status_code == 200


# --- JSON bodies that are not one object ------------------------------------------


def _json_cases() -> list[tuple[str, str, str]]:
    return [(SCHOOL, r, m) for r, m in _api_cases(SCHOOL)] + [
        (PUBLIC, r, m) for r, m in _api_cases(PUBLIC)
    ]


@pytest.mark.parametrize(("urlconf", "route", "method"), _json_cases())
def test_a_json_body_that_is_not_an_object_is_a_400(
    urlconf: str,
    route: str,
    method: str,
    world: World,
    a_values: dict[str, str],  # noqa: F811
    bureau_host: str,
) -> None:
    # given: a user whose role may call the route (so the request reaches the view)
    client = login(_host(world, urlconf, bureau_host), _account_for(route, urlconf, method))
    cls = _view_class(route, urlconf)
    assert cls is not None
    path = _fill(route, a_values)
    for kind, body in NON_OBJECTS.items():
        # when: the body is valid JSON but not an object
        response = client.generic(method.upper(), path, body, content_type="application/json")
        connection.set_schema_to_public()
        what = f"{method.upper()} {path} with a {kind}"
        # then: never a server error; a view that reads the body gets the parser's 400
        assert response.status_code < 500, f"{what}: {response.status_code}"
        if not _reads_body(cls, method):
            continue
        error = response.json()["error"]
        if any(issubclass(p, JSONParser) for p in cls.parser_classes):
            assert response.status_code == 400, f"{what}: {response.status_code}"
            assert error["code"] == "parse_error", what
            assert error["message"].startswith("请求内容必须是一个 JSON 对象"), what
        else:  # an upload-only view: JSON is not accepted at all
            assert response.status_code == 415, f"{what}: {response.status_code}"
            assert error["code"] == "unsupported_media_type", what


@pytest.mark.parametrize(
    ("method", "route"), [("post", "/api/v1/students/"), ("put", "/api/v1/students/{id}/")]
)
@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"[]", "数组"), (b'"x"', "字符串"), (b"3", "数字"), (b"null", "空值（null）")],
)
def test_the_student_api_names_what_it_got_instead_of_an_object(
    method: str,
    route: str,
    body: bytes,
    kind: str,
    world: World,
    a_values: dict[str, str],  # noqa: F811
) -> None:
    client = login(world.a.host, "registrar")
    path = route.format(id=a_values["student_id"])
    response = client.generic(method.upper(), path, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "parse_error",
            "message": f"请求内容必须是一个 JSON 对象（以 {{ 开头），收到的是{kind}。",
        }
    }


def test_broken_json_and_nul_inside_json_are_a_chinese_400(world: World, db: None) -> None:
    client = login(world.a.host, "registrar")
    for body, message in (
        (b'{"name": ', "请求内容不是有效的 JSON：第 1 行第 10 列附近有误。"),
        (b"\xff\xfe", "请求内容不是 UTF-8 编码的 JSON。"),
        (b"[" * 100_000, "请求内容的 JSON 嵌套层数过多。"),
        (
            b'{"family": [{"name": "a\\u0000"}]}',
            "字段“family[0].name”含有不允许的空字符（NUL），请删除后重试。",
        ),
        (b'{"na\\u0000me": 1}', "字段“na\\0me”含有不允许的空字符（NUL），请删除后重试。"),
    ):
        response = client.post("/api/v1/students/", body, content_type="application/json")
        assert response.status_code == 400, body[:20]
        assert response.json()["error"] == {"code": "parse_error", "message": message}


def test_every_api_view_parses_json_only_through_the_object_parser() -> None:
    """A view with its own parser list must not bring DRF's plain JSONParser back."""
    assert [p.__name__ for p in api_settings.DEFAULT_PARSER_CLASSES] == [  # type: ignore[attr-defined]
        "ObjectJSONParser",
        "NulRefusingFormParser",
        "NulRefusingMultiPartParser",
    ]
    for urlconf in (SCHOOL, PUBLIC):
        for route in _routes(urlconf):
            cls = _view_class(route, urlconf)
            if cls is None:
                continue
            for parser in cls.parser_classes:
                if issubclass(parser, JSONParser):
                    assert issubclass(parser, ObjectJSONParser), f"/{route}: {parser.__name__}"


# --- Content-Security-Policy --------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_and_api_answers_carry_the_content_security_policy(
    world: World, db: None, bureau_host: str
) -> None:
    from django.conf import settings

    # Images also from the storage's own origin, and only it: a photo's /files/ link
    # redirects to a presigned URL there (config.settings.STORAGE_IMAGE_ORIGINS).
    assert len(settings.STORAGE_IMAGE_ORIGINS) <= 1
    assert all("*" not in o for o in settings.STORAGE_IMAGE_ORIGINS)
    expected = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *settings.STORAGE_IMAGE_ORIGINS],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
    school = login(world.a.host, "registrar")
    bureau = login(bureau_host, "liuyang")
    for client, path in (
        (Client(HTTP_HOST=world.a.host), "/accounts/login/"),
        (school, "/"),
        (school, "/registry/students/"),
        (school, "/api/v1/students/"),
        (school, f"/api/v1/students/?q={NUL}"),
        (bureau, "/"),
        (bureau, "/api/v1/schools/"),
    ):
        response = client.get(path)
        connection.set_schema_to_public()
        assert _policy(response) == expected, path


def test_the_swagger_page_loads_from_this_host_only(world: World, db: None) -> None:
    """No CDN: Swagger UI's files are static files (drf-spectacular-sidecar)."""
    client = Client(HTTP_HOST=world.a.host)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    policy = _policy(page)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    from django.conf import settings

    assert policy["img-src"] == ["'self'", "data:", "blob:", *settings.STORAGE_IMAGE_ORIGINS]
    assert policy["default-src"] == ["'self'"]
    assert "https://" not in page.content.decode()
    bundle = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert f'<script src="{bundle}"></script>' in page.content.decode()
    assert client.get(bundle).status_code == 200
    # its start-up script is a same-origin file, not an inline block
    body = page.content.decode()
    assert '<script src="/api/docs/?script="></script>' in body
    assert "<script>" not in body
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
