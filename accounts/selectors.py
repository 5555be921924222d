from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import ApiToken, User, UserSession


def user_list() -> QuerySet[User]:
    """Accounts of the current schema (one school, or public) with their roles."""
    return User.objects.prefetch_related("groups").order_by("username")


def public_user_list() -> QuerySet[User]:
    """Bureau and platform accounts (public schema) with roles and region: platform
    operators first (no region), then by region code and username."""
    return (
        User.objects.select_related("region")
        .prefetch_related("groups")
        .order_by(F("region_id").asc(nulls_first=True), "username")
    )


@dataclass(frozen=True)
class SessionRow:
    """One way the user is signed in: a browser session or an API client's token."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    ip: str | None
    user_agent: str
    browser: str
    current: bool
    kind: str = "session"  # or "token"
    client: str = ""  # the API client's name (tokens)
    expires_at: datetime | None = None  # tokens


_BROWSERS = (  # order matters: Edge and 360 also say Chrome, Chrome also says Safari
    ("Edg/", "Edge"),
    ("QQBrowser/", "QQ浏览器"),
    ("MicroMessenger/", "微信"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Mac OS X", "macOS"),
    ("HarmonyOS", "HarmonyOS"),
    ("Linux", "Linux"),
)


def browser_label(user_agent: str) -> str:
    """A short human label such as "Chrome 124 · Windows" (empty when unknown)."""
    browser = ""
    for marker, name in _BROWSERS:
        found = re.search(re.escape(marker) + r"(\d+)", user_agent)
        if found:
            browser = f"{name} {found.group(1)}"
            break
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    return " · ".join(part for part in (browser, system) if part)


def user_session_list(*, user: User, current_key: str | None) -> list[SessionRow]:
    """The user's signed-in sessions on this host, most recently used first."""
    return [
        SessionRow(
            id=s.pk,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            ip=s.ip,
            user_agent=s.user_agent,
            browser=browser_label(s.user_agent),
            current=s.session_key == current_key,
        )
        for s in UserSession.objects.filter(user=user).order_by("-last_seen_at", "-id")
    ]


def user_token_list(*, user: User, current_id: int | None) -> list[SessionRow]:
    """The user's unexpired API tokens on this host (one per named client), most
    recently used first; the token itself is never shown again."""
    tokens = ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by(
        F("last_used_at").desc(nulls_last=True), "-created", "-id"
    )
    return [
        SessionRow(
            id=t.pk,
            created_at=t.created,
            last_seen_at=t.last_used_at or t.created,
            ip=t.ip,
            user_agent=t.user_agent,
            browser=browser_label(t.user_agent),
            current=t.pk == current_id,
            kind="token",
            client=t.client,
            expires_at=t.expiry,
        )
        for t in tokens
    ]
