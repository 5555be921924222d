"""Health probes, answered before tenant routing so that any Host header works."""

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
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
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
