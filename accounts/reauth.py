"""Step-up re-authentication: sensitive actions need the password entered recently.

The time the password was last entered (at login, on the "请再次输入密码" page, through
`POST /api/v1/auth/reauth/`) is kept in the session; for API tokens, in the cache under
a hash of the token. An action guarded here runs only within settings.REAUTH_MINUTES of
that time:

* pages: `@reauth_required` (inside the right check). A GET goes to accounts:reauth and
  comes back; a POST is answered with the password form carrying the submitted fields,
  so the user confirms and the action runs without filling the form again;
* API: the permission `RecentlyReauthenticated` (after the right check) answers 403 with
  code "reauth_required"; `@reauth_redirects_browsers` on a GET endpoint that pages link
  to (a download) sends a browser to the password page instead of showing JSON.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_noop
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.forms import ReauthForm
from accounts.services import password_confirm

REAUTH_SESSION_KEY = "_reauth_at"
REAUTH_CODE = "reauth_required"
# The password field of the form a guarded POST is answered with (ReauthForm, prefixed).
REAUTH_PREFIX = "reauth"
REAUTH_FIELD = f"{REAUTH_PREFIX}-password"
MSG_REAUTH = gettext_noop("此操作需要再次输入密码确认。")


def _window() -> int:
    return int(settings.REAUTH_MINUTES) * 60


def _token_cache_key(token_key: str) -> str:
    return "reauth:token:" + hashlib.sha256(token_key.encode()).hexdigest()


def token_key_of(request: Request) -> str | None:
    """The API token a DRF request authenticated with, if any: its knox digest (the
    stored SHA-512 of the token, stable for the token's life; the token itself is never
    kept)."""
    return getattr(request.auth, "digest", None)


def reauth_mark(request: HttpRequest, *, token_key: str | None = None) -> None:
    """The password was just entered (in this session, or for this API token)."""
    now = int(time.time())
    if token_key:
        cache.set(_token_cache_key(token_key), now, timeout=_window())
    else:
        request.session[REAUTH_SESSION_KEY] = now


def reauth_fresh(request: HttpRequest, *, token_key: str | None = None) -> bool:
    if token_key:
        at = cache.get(_token_cache_key(token_key))
    else:
        at = request.session.get(REAUTH_SESSION_KEY)
    return isinstance(at, int | float) and 0 <= time.time() - at < _window()


def reauth_url(next_path: str) -> str:
    return reverse("accounts:reauth") + "?" + urlencode({"next": next_path})


def reauth_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Page guard for sensitive actions; place it inside the right check."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated or reauth_fresh(request):
            return view(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            return HttpResponseRedirect(reauth_url(request.get_full_path()))
        form = ReauthForm(prefix=REAUTH_PREFIX)
        if REAUTH_FIELD in request.POST:
            form = ReauthForm(request.POST, prefix=REAUTH_PREFIX)
            if form.is_valid():
                result = password_confirm(
                    user=request.user,  # type: ignore[arg-type]
                    password=form.cleaned_data["password"],
                    request=request,
                )
                if result.ok:
                    reauth_mark(request)
                    data = request.POST.copy()
                    data.pop(REAUTH_FIELD, None)
                    request.POST = data  # type: ignore[misc]
                    return view(request, *args, **kwargs)
                form.add_error("password", result.message)
        carry = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in {REAUTH_FIELD, "csrfmiddlewaretoken"}
            for value in values
        ]
        return render(
            request,
            "accounts/reauth.html",
            {
                "form": form,
                "action": request.get_full_path(),
                "carry": carry,
                "back": _safe_referer(request),
            },
        )

    return wrapped


def _safe_referer(request: HttpRequest) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return referer
    return "/"


class RecentlyReauthenticated(BasePermission):
    """API guard for sensitive actions; list it after the right check. Answers 403
    {"error": {"code": "reauth_required", "message": "此操作需要再次输入密码确认。"}}."""

    code = REAUTH_CODE
    message = MSG_REAUTH

    def has_permission(self, request: Request, view: Any) -> bool:
        self.message = gettext(MSG_REAUTH)
        return reauth_fresh(request._request, token_key=token_key_of(request))


def reauth_redirects_browsers(view_class: type) -> type:
    """For a GET endpoint that pages link to (a download): a browser following the link
    with its session is sent to the password page and back instead of getting JSON."""
    handle = view_class.handle_exception  # type: ignore[attr-defined]

    def handle_exception(self: Any, exc: Exception) -> HttpResponse:
        request = self.request
        if (
            isinstance(exc, exceptions.PermissionDenied)
            and exc.get_codes() == REAUTH_CODE
            and request.method == "GET"
            and request.auth is None
            and "text/html" in request.META.get("HTTP_ACCEPT", "")
        ):
            return HttpResponseRedirect(reauth_url(request.get_full_path()))
        return handle(self, exc)  # type: ignore[no-any-return]

    view_class.handle_exception = handle_exception  # type: ignore[attr-defined]
    return view_class
