from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from common.permissions import Rights, as_rights, has_any_right


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition value that keeps a Chinese file name (RFC 6266, RFC 5987's
    filename*), with an ASCII fallback for old clients: a registrar's download is saved as
    学生名册.xlsx, not as an internal key."""
    filename = filename.replace("/", "-").replace("\\", "-")
    ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"download.{ext}\"; filename*=UTF-8''{quote(filename)}"


def right_required(
    right: Rights,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Page guard: anonymous users go to the login page, others need `right` (or any one
    of a tuple of alternative rights) or get 403."""
    rights = as_rights(right)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_any_right(user, rights):
                return render(request, "403.html", status=403)
            return view(request, *args, **kwargs)

        # Read by the access-matrix test: every page declares the right it needs.
        wrapped.required_right = rights  # type: ignore[attr-defined]
        return wrapped

    return decorator


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent from a page that expired (signed out meanwhile, an
    old tab) gets the product's own page, not Django's English one. `reason` is for the
    log only."""
    message = _("页面已过期或来源无法确认，刚才的内容没有提交。请返回上一页，刷新后重新提交。")
    return render(request, "bad_request.html", {"message": message}, status=403)
