from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

SESSION_SCHEMA_KEY = "_schema"


class SessionSchemaBindingMiddleware:
    """A session is valid only in the schema where it was opened.

    Cookies are host-only, but a copied cookie must still never authenticate on another
    school's host: the schema is stored at login and checked on every request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            bound = request.session.get(SESSION_SCHEMA_KEY)
            if bound != connection.schema_name:
                logout(request)
        return self.get_response(request)


class ForcePasswordChangeMiddleware:
    """Accounts with a one-time password may only change it (and log out) until they do."""

    ALLOWED_NAMES = ("accounts:password_change", "accounts:logout")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.must_change_password
            and not request.path.startswith(("/api/", "/static/", "/i18n/"))
            and request.path not in {reverse(n) for n in self.ALLOWED_NAMES}
        ):
            return redirect("accounts:password_change")
        return self.get_response(request)
