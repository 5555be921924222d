"""Request-wide middleware that knows no app: NUL refusal and language. The health
probes are config.health's, the audit log's middleware accounts.middleware's."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

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
