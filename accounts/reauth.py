"""Step-up re-authentication: sensitive actions need the password entered recently.

The time the password was last entered (at login, on the "请再次输入密码" page, through
`POST /api/v1/auth/reauth/`) is kept in the session; for API tokens, in the cache under
a hash of the token. A sensitive action runs only within settings.REAUTH_MINUTES of
that time.

Which actions are sensitive is said once, in `SENSITIVE_ACTIONS` below, and a page and
its API are both guarded by the one decorator `@sensitive(ACTION)`, so they ask for the
password on the same methods and inputs and cannot drift apart:

* on a page (a function view, inside the right check): a GET goes to accounts:reauth and
  comes back; a POST is answered with the password form carrying the submitted fields,
  so the user confirms and the action runs without filling the form again;
* on an API (an APIView class): a permission after the right check answers 403 with code
  "reauth_required"; on a GET action (a download pages link to) a browser following the
  link with its session is sent to the password page instead of getting JSON.

The decorator marks the view (`view.sensitive`); tests/test_reauth.py walks both hosts'
URLconfs, calls every marked route with a stale session and a token, and checks that
every route whose view reaches one of an action's `performed_by` services is marked.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.forms import ReauthForm
from accounts.login import password_confirm

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


def _ask_on_page(
    view: Callable[..., HttpResponse], request: HttpRequest, *args: Any, **kwargs: Any
) -> HttpResponse:
    """A GET goes to the password page and back; a POST is answered with the password
    form carrying what was submitted, and runs once the right password comes with it."""
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
                request.POST = data  # type: ignore[assignment]
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


def _safe_referer(request: HttpRequest) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return referer  # type: ignore[no-any-return]
    return "/"


class RecentlyReauthenticated(BasePermission):
    """403 {"error": {"code": "reauth_required", "message": "此操作需要再次输入密码确认。"}}
    unless the password was entered recently. APIs use `@sensitive`, which lists it after
    the right check for the methods and inputs of its action (listed alone it marks no
    route as sensitive)."""

    code = REAUTH_CODE
    message = MSG_REAUTH

    def has_permission(self, request: Request, view: Any) -> bool:
        self.message = gettext(MSG_REAUTH)
        return reauth_fresh(request._request, token_key=token_key_of(request))


# -- the sensitive actions ---------------------------------------------------------------


@dataclass(frozen=True)
class SensitiveAction:
    """One action that needs the password again.

    `methods`: the HTTP methods of its routes that perform it (a GET route's preview or a
    list is not the action). `when`: for an action sensitive only for some inputs, the
    dotted path of a predicate `(request, view_kwargs) -> bool` (the request is a page's
    HttpRequest or an API's DRF Request; read the submitted data with `submitted`).
    `performed_by`: dotted paths of the services that do it; a route whose view reaches one
    of them must carry this action (tests/test_reauth.py)."""

    code: str
    label: str
    methods: frozenset[str]
    performed_by: tuple[str, ...] = ()
    when: str = ""

    def applies(self, request: HttpRequest | Request, kwargs: dict[str, Any]) -> bool:
        method = request.method or ""
        if method not in self.methods and not (method == "HEAD" and "GET" in self.methods):
            return False
        return not self.when or bool(import_string(self.when)(request, kwargs))


POST = frozenset({"POST"})
GET = frozenset({"GET"})

STUDENT_EXPORT = SensitiveAction(
    "student_export",
    gettext_noop("导出学生名册"),
    # The API's GET makes the file at once; the list page's POST has a job make it.
    GET | POST,
    (
        "tenant_apps.registry.students.exports.students_export",
        "tenant_apps.registry.students.exports.export_start",
        # 综合查询's Excel export of the chosen columns (page and API).
        "tenant_apps.reports.query.exports.query_export",
    ),
)
AUDIT_EXPORT = SensitiveAction(
    "audit_export", gettext_noop("导出审计日志"), GET, ("accounts.audit_selectors.audit_csv",)
)
PROBLEM_DELETE = SensitiveAction(
    "problem_delete",
    gettext_noop("删除学籍（问题学籍）"),
    POST,
    ("tenant_apps.registry.problems.services.problem_delete",),
)
ROLLOVER = SensitiveAction(
    "rollover",
    gettext_noop("升级与毕业：执行、撤销、确认"),
    POST,
    (
        "tenant_apps.registry.lifecycle.rollover.rollover_start",
        "tenant_apps.registry.lifecycle.rollover.rollover_undo",
        "tenant_apps.registry.lifecycle.rollover.rollover_confirm",
    ),
)
RENUMBER = SensitiveAction(
    "renumber",
    gettext_noop("学籍辅号：编排、锁定、解锁"),
    POST,
    (
        "shared_apps.bureau.renumber.renumber_apply",
        "shared_apps.bureau.renumber.renumber_lock",
        "shared_apps.bureau.renumber.renumber_unlock",
    ),
)
BACKUP_RESTORE = SensitiveAction(
    "backup_restore",
    gettext_noop("恢复备份"),
    POST,
    ("shared_apps.backups.services.restore_start",),
)
# Approving a case that moves or ends a record (transfers between schools and with the
# outside); other decisions of the same case engine are not sensitive, hence `when`.
TRANSFER_APPROVE = SensitiveAction(
    "transfer_approve",
    gettext_noop("审核通过转学、转出、转入"),
    POST,
    when="shared_apps.transfers.views.approves_a_transfer",
)

PASSWORD_RESET = SensitiveAction(
    "password_reset",
    gettext_noop("重置本校账号的密码"),
    POST,
    ("accounts.services.user_password_reset",),
)

# Every sensitive action; the README's account-security paragraph lists the same.
SENSITIVE_ACTIONS = (
    STUDENT_EXPORT,
    AUDIT_EXPORT,
    PROBLEM_DELETE,
    ROLLOVER,
    RENUMBER,
    BACKUP_RESTORE,
    TRANSFER_APPROVE,
    PASSWORD_RESET,
)


def submitted(request: HttpRequest | Request) -> Any:
    """What was submitted: an API's parsed body, a page's form."""
    return request.data if isinstance(request, Request) else request.POST


V = TypeVar("V")


def sensitive(action: SensitiveAction) -> Callable[[V], V]:
    """Guard a page (function view; place it inside the right check) or an API (APIView
    class) for `action`, and mark it (`view.sensitive`) for the tests."""

    def decorate(view: V) -> V:
        if isinstance(view, type):
            return _sensitive_api(view, action)  # type: ignore[return-value]
        return _sensitive_page(view, action)  # type: ignore[arg-type,return-value]

    return decorate


def _sensitive_page(
    view: Callable[..., HttpResponse], action: SensitiveAction
) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if (
            request.user.is_authenticated
            and action.applies(request, kwargs)
            and not reauth_fresh(request)
        ):
            return _ask_on_page(view, request, *args, **kwargs)
        return view(request, *args, **kwargs)

    wrapped.sensitive = action  # type: ignore[attr-defined]
    return wrapped


def _sensitive_api(view_class: type, action: SensitiveAction) -> type:
    class Reauthenticated(RecentlyReauthenticated):
        def has_permission(self, request: Request, view: Any) -> bool:
            if not action.applies(request, getattr(view, "kwargs", {})):
                return True
            return super().has_permission(request, view)

    Reauthenticated.__name__ = f"Reauthenticated[{action.code}]"
    view_class.permission_classes = [*view_class.permission_classes, Reauthenticated]  # type: ignore[attr-defined]
    view_class.sensitive = action  # type: ignore[attr-defined]
    if "GET" in action.methods:
        _redirect_browsers(view_class)
    return view_class


def _redirect_browsers(view_class: type) -> None:
    """For a GET action that pages link to (a download): a browser following the link
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
