"""Login throttles in front of the login page and the token API (django-ratelimit).

Failed attempts (wrong or unknown name, wrong password or code, disabled account) are
counted per client address over every host and per host (its schema), in fixed windows
of settings.LOGIN_THROTTLE_PER_ADDRESS / _PER_HOST. Once a count is reached, further
attempts are refused before any password is checked until the window ends. Successful
sign-ins are not counted: a school's staff share one address behind its NAT. A browser
known to the account it signs in to (accounts.devices) is not held by these throttles.
"""

from __future__ import annotations

import ipaddress
import math

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop
from django_ratelimit.core import get_usage

from accounts.sessions import client_ip

MSG_THROTTLED = gettext_noop("登录尝试过于频繁，请于%(minutes)s分钟后再试。")
IPV6_PREFIX = 64  # one subscriber's IPv6 addresses share a /64


def _address(_group: str, request: HttpRequest) -> str:
    ip = client_ip(request.META)
    if ip is None:
        return "unknown"
    parsed = ipaddress.ip_address(ip)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return ip


def _host(_group: str, _request: HttpRequest) -> str:
    return str(connection.schema_name)


_LIMITS = (
    ("login-address", _address, "LOGIN_THROTTLE_PER_ADDRESS"),
    ("login-host", _host, "LOGIN_THROTTLE_PER_HOST"),
)


def login_throttle_wait(request: HttpRequest) -> int:
    """Seconds until the next attempt from this request is let through (0: now)."""
    wait = 0
    for group, key, setting in _LIMITS:
        usage = get_usage(
            request, group=group, key=key, rate=getattr(settings, setting), increment=False
        )
        if usage is not None and usage["count"] >= usage["limit"]:
            wait = max(wait, int(usage["time_left"]) or 1)
    return wait


def login_throttle_count(request: HttpRequest) -> None:
    """Count one failed attempt of this request's address and host."""
    for group, key, setting in _LIMITS:
        get_usage(request, group=group, key=key, rate=getattr(settings, setting), increment=True)


def throttled_message(wait_seconds: int) -> str:
    return gettext(MSG_THROTTLED) % {"minutes": max(1, math.ceil(wait_seconds / 60))}
