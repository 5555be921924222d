from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop

SESSION_SCHEMA_KEY = "_schema"
# Unix times kept in the session: the last request (at most a minute old) and the login.
ACTIVITY_KEY = "_seen"
LOGIN_AT_KEY = "_login_at"
TOUCH_SECONDS = 60
MSG_IDLE = gettext_noop("长时间未操作，已自动退出，请重新登录。")
MSG_EXPIRED = gettext_noop("登录时间已超过上限，请重新登录。")


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


class DownloadIssuerMiddleware:
    """Binds the request while it is served, so that every file link made below the view
    names its host and account (tenants.storage.download_url), to whom it is bound."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from tenants.storage import download_request_bind

        with download_request_bind(request):
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


def session_close(request: HttpRequest) -> None:
    """Log out and forget the session's row in "我的登录"."""
    from accounts.sessions import user_session_forget

    key = request.session.session_key
    if key:
        user_session_forget(session_key=key)
    logout(request)


class SessionActivityMiddleware:
    """Idle timeout (SESSION_IDLE_MINUTES), the absolute cap since login
    (SESSION_COOKIE_AGE) and the last-seen time of "我的登录".

    The session and the UserSession row are written at most once a minute, so a busy
    page costs no extra writes. A page request that timed out goes to the login page with
    a message; an API request simply continues signed out (and gets 401).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        session = request.session
        now = int(time.time())
        seen = session.get(ACTIVITY_KEY)
        login_at = session.get(LOGIN_AT_KEY)
        reason = None
        if isinstance(seen, int) and now - seen > settings.SESSION_IDLE_MINUTES * 60:
            reason = MSG_IDLE
        elif isinstance(login_at, int) and now - login_at > settings.SESSION_COOKIE_AGE:
            reason = MSG_EXPIRED
        if reason is not None:
            return self._expire(request, reason)
        if not isinstance(seen, int) or now - seen >= TOUCH_SECONDS:
            from accounts.sessions import user_session_touch

            session[ACTIVITY_KEY] = now
            if session.session_key:
                user_session_touch(session_key=session.session_key)
        return self.get_response(request)

    def _expire(self, request: HttpRequest, reason: str) -> HttpResponse:
        session_close(request)
        if request.path.startswith("/api/"):
            return self.get_response(request)
        # MessageMiddleware comes later and is skipped by this early answer: store the
        # message on the response here.
        storage = default_storage(request)
        storage.add(messages.WARNING, gettext(reason))
        if request.method in ("GET", "HEAD"):
            response = redirect_to_login(request.get_full_path())
        else:
            response = redirect(settings.LOGIN_URL)
        storage.update(response)
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
