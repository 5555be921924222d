"""Health probes: /healthz (the process answers) and /readyz (database, broker and
storage), answered before tenant routing so that any Host header works."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def _check_storage() -> None:
    from tenants.storage import storage_ping

    storage_ping(default_storage)


def readiness() -> dict[str, dict[str, Any]]:
    """Each dependency with ok/error; errors name the exception class only (no secrets)."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in (
        ("database", _check_database),
        ("broker", _check_broker),
        ("storage", _check_storage),
    ):
        try:
            check()
            results[name] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure kind
            results[name] = {"ok": False, "error": type(exc).__name__}
    return results


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return HttpResponse("ok", content_type="text/plain")
        if request.path == "/readyz":
            checks = readiness()
            ok = all(c["ok"] for c in checks.values())
            return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)
        return self.get_response(request)
