"""Request-wide middleware: health probes (answered before tenant routing so that any
Host header works), NUL refusal, language, audit."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return HttpResponse("ok", content_type="text/plain")
        if request.path == "/readyz":
            from common.health import readiness

            checks = readiness()
            ok = all(c["ok"] for c in checks.values())
            return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)
        return self.get_response(request)


NUL = "\x00"
MSG_NUL_PATH = "网址中含有不允许的空字符（NUL），请检查网址后重试。"
MSG_NUL_QUERY = "网址参数“{name}”含有不允许的空字符（NUL），请删除后重试。"
MSG_NUL_COOKIE = "浏览器 Cookie “{name}”含有不允许的空字符（NUL），请清除本站 Cookie 后重试。"
MSG_NUL_HEADER = "请求头“{name}”含有不允许的空字符（NUL）。"
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def nul_found(request: HttpRequest) -> tuple[str, str] | None:
    """(parameter or field name as shown, message) for the first NUL byte in the path,
    query string, form fields, cookies or headers of `request`; None if clean. JSON
    bodies are the API parser's (common.parsers.ObjectJSONParser).

    Form bodies are read only for POST (the only method Django parses them for), which
    CSRF checking does for page forms anyway; DRF then reuses the parsed form. Upload
    file names need no check: Django drops non-printable characters from them.
    """
    from common.parsers import MSG_FORM_NUL, display_name

    if NUL in request.path_info or NUL in request.path:
        return "path", MSG_NUL_PATH
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in v for v in values):
            return display_name(name), MSG_NUL_QUERY.format(name=display_name(name))
    if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        for name, values in request.POST.lists():
            if NUL in name or any(NUL in v for v in values):
                return display_name(name), MSG_FORM_NUL.format(field=display_name(name))
    for name, value in request.COOKIES.items():
        if NUL in name or NUL in value:
            return display_name(name), MSG_NUL_COOKIE.format(name=display_name(name))
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            header = key[5:].replace("_", "-").title()
            return header, MSG_NUL_HEADER.format(name=header)
    return None


class NulByteRejectMiddleware:
    """A NUL byte anywhere in a request is a 400 with a clear message, before any view.

    PostgreSQL cannot store NUL in text, so a NUL that reaches a query filter or a write
    fails in the database as a 500. Refusing it here, once, covers every route of both
    hosts: the API's error body for /api/ paths, a short page otherwise.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = nul_found(request)
        if found is None:
            return self.get_response(request)
        name, message = found
        if request.path_info.startswith("/api/"):
            body = {"code": "invalid", "message": message, "fields": {name: [message]}}
            return JsonResponse(
                {"error": body}, status=400, json_dumps_params={"ensure_ascii": False}
            )
        from django.template.loader import render_to_string

        page = render_to_string("bad_request.html", {"message": message})
        return HttpResponse(page, status=400, content_type="text/html; charset=utf-8")


class ChineseFirstLocaleMiddleware:
    """Simplified Chinese unless the user chose another language (cookie).

    Django's LocaleMiddleware follows the browser's Accept-Language, which would show
    English to a registrar whose office PC runs an English-language browser.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class AuditMiddleware:
    """Every POST/PUT/PATCH/DELETE that reached a view with a signed-in user leaves a
    "write" entry in the audit log (accounts.audit), written after the response in its own
    small transaction; auditing never fails the request (errors are logged).

    Sits after AuthenticationMiddleware. `process_view` marks requests that got past the
    other middleware (CSRF, forced password change, closed schools) and remembers the user,
    who may be gone after the view (logout); DRF sets token users during the view.
    """

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.utils import timezone

        started = timezone.now()
        response = self.get_response(request)
        if request.method in self.UNSAFE and getattr(request, "_audit_view", False):
            from accounts.audit import audit_request_write

            audit_request_write(request, response, started=started)
        return response

    def process_view(
        self, request: HttpRequest, view_func: object, view_args: object, view_kwargs: object
    ) -> None:
        if request.method in self.UNSAFE:
            request._audit_view = True  # type: ignore[attr-defined]
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                request._audit_user = user  # type: ignore[attr-defined]
