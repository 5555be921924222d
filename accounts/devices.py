"""Browsers known to an account: the login lock held by strangers does not apply to them.

A browser (or API client with a cookie jar) that completed a sign-in to an account
gets a signed, host-only, HttpOnly cookie naming the host's schema, the account and a
random device id, for settings.KNOWN_DEVICE_DAYS. One cookie holds up to MAX_ENTRIES
accounts (a shared office computer). A known device has its own failure count and lock
(accounts.login), so someone who guesses passwords elsewhere never locks the owner
out of the browser he or she signs in with, and a stolen known browser still gets only
LOGIN_MAX_FAILURES guesses per LOGIN_LOCK_MINUTES.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection
from django.http import HttpRequest, HttpResponseBase

COOKIE_NAME = "xueji_device"
SALT = "accounts.devices"
MAX_ENTRIES = 8


def _max_age() -> int:
    return int(settings.KNOWN_DEVICE_DAYS) * 24 * 3600


def _entries(request: HttpRequest) -> list[list[Any]]:
    """[schema, user id, device id, signed-in at] of every account this browser knows."""
    raw = request.COOKIES.get(COOKIE_NAME)
    if not raw:
        return []
    try:
        data = signing.loads(raw, salt=SALT, max_age=_max_age())
    except signing.BadSignature:
        return []
    oldest = time.time() - _max_age()
    if not isinstance(data, list):
        return []
    return [
        e
        for e in data
        if isinstance(e, list)
        and len(e) == 4
        and isinstance(e[1], int)
        and isinstance(e[3], int)
        and e[3] >= oldest
    ]


def device_id(request: HttpRequest | None, user_id: int) -> str | None:
    """The id under which this browser knows the account on this host, if it does."""
    if request is None:
        return None
    request = getattr(request, "_request", request)
    for schema, uid, device, _at in _entries(request):
        if schema == connection.schema_name and uid == user_id:
            return str(device)
    return None


def device_remember(request: HttpRequest, response: HttpResponseBase, user_id: int) -> None:
    """After a complete sign-in: this browser is known to the account (again)."""
    request = getattr(request, "_request", request)
    device = device_id(request, user_id) or secrets.token_urlsafe(12)
    schema = connection.schema_name
    others = [e for e in _entries(request) if not (e[0] == schema and e[1] == user_id)]
    entries = [[schema, user_id, device, int(time.time())], *others][:MAX_ENTRIES]
    response.set_cookie(
        COOKIE_NAME,
        signing.dumps(entries, salt=SALT, compress=True),
        max_age=_max_age(),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )
