"""我的登录: the browser sessions and API tokens an account is signed in with.

Rows of UserSession follow the browser sessions (recorded at login, touched, re-keyed,
forgotten at logout); ending one ends the Django session too. API tokens are one per
named client. `user_sessions_end` signs an account out everywhere else (after a password
or two-factor change, when it is disabled or its password is reset).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import ApiToken, User, UserSession
from common.exceptions import ApplicationError

MSG_SESSION_NOT_FOUND = gettext_noop("未找到该登录会话。")


def client_ip(meta: Mapping[str, Any]) -> str | None:
    """The client's address: REMOTE_ADDR, or the last X-Forwarded-For hop (the one our
    own proxy appended) when settings.USE_X_FORWARDED_FOR says a trusted proxy is in
    front. Anything that is not an IP address is ignored."""
    candidates = []
    if settings.USE_X_FORWARDED_FOR:
        forwarded = [h.strip() for h in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
        candidates += [h for h in reversed(forwarded) if h][:1]
    candidates.append(str(meta.get("REMOTE_ADDR", "")))
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def user_session_record(
    *, user: User, session_key: str, ip: str | None, user_agent: str
) -> UserSession:
    session, _ = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "ip": ip, "user_agent": user_agent[:300]},
    )
    return session


def user_session_touch(*, session_key: str) -> None:
    UserSession.objects.filter(session_key=session_key).update(last_seen_at=timezone.now())


def user_session_rekey(*, old_key: str | None, new_key: str | None) -> None:
    """The session got a new key (after a password change): keep its row."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def user_session_forget(*, session_key: str) -> None:
    """The session ended (logout, timeout): drop its row."""
    UserSession.objects.filter(session_key=session_key).delete()


def _session_end(session: UserSession) -> None:
    _session_store()().delete(session.session_key)
    session.delete()


@transaction.atomic
def user_session_end(*, user: User, session_id: int) -> str:
    """End one of the user's own sessions: the other browser is signed out at once.
    Returns the session key."""
    session = UserSession.objects.filter(user=user, pk=session_id).first()
    if session is None:
        raise ApplicationError(gettext(MSG_SESSION_NOT_FOUND), code="not_found")
    key = session.session_key
    _session_end(session)
    return key


@transaction.atomic
def user_sessions_end(
    *, user: User, keep_key: str | None = None, keep_token_id: int | None = None
) -> int:
    """End every session of `user` except `keep_key` and revoke every API token except
    `keep_token_id` (sign out everywhere else; also after a password or two-factor
    change and when the account is disabled). Returns how many ended."""
    sessions = UserSession.objects.filter(user=user).exclude(session_key=keep_key or "")
    ended = 0
    for session in sessions:
        _session_end(session)
        ended += 1
    revoked, _ = ApiToken.objects.filter(user=user).exclude(pk=keep_token_id or 0).delete()
    return ended + revoked  # type: ignore[no-any-return]


# -- API tokens (one per named client, listed under "我的登录") ----------------------------

MSG_TOKEN_NOT_FOUND = gettext_noop("未找到该接口令牌。")
MSG_TOO_MANY_CLIENTS = gettext_noop(
    "每个账号最多可有%(n)s个接口客户端，请先在“我的登录”中注销不再使用的客户端。"
)
DEFAULT_CLIENT = "接口客户端"


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; only its digest is stored
    digest: str
    id: int
    client: str
    expiry: datetime | None


@transaction.atomic
def api_token_issue(
    *, user: User, client: str, ip: str | None = None, user_agent: str = ""
) -> IssuedToken:
    """A new token for the user's named client, replacing that client's previous one;
    at most API_TOKENS_PER_USER clients per user (expired tokens do not count)."""
    client = client.strip()[:60] or DEFAULT_CLIENT
    # Serialises issues for one user, so two at once cannot both pass the limit.
    User.objects.select_for_update().filter(pk=user.pk).exists()
    ApiToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    ApiToken.objects.filter(user=user, client=client).delete()
    limit = settings.API_TOKENS_PER_USER
    if ApiToken.objects.filter(user=user).count() >= limit:
        raise ApplicationError(gettext(MSG_TOO_MANY_CLIENTS) % {"n": limit}, code="too_many")
    instance, token = ApiToken.objects.create(
        user=user, client=client, ip=ip, user_agent=user_agent[:300]
    )
    return IssuedToken(
        token=token, digest=instance.digest, id=instance.pk, client=client, expiry=instance.expiry
    )


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> str:
    """Revoke one of the user's own tokens; returns its digest."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise ApplicationError(gettext(MSG_TOKEN_NOT_FOUND), code="not_found")
    digest = token.digest
    token.delete()
    return digest  # type: ignore[no-any-return]


def user_sessions_prune(*, user: User) -> None:
    """Forget rows whose session expired or vanished (browser closed, server cleanup),
    and expired API tokens."""
    from django.contrib.sessions.models import Session

    ApiToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    if not keys or not settings.SESSION_ENGINE.endswith(".db"):
        return
    live = set(
        Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
            "session_key", flat=True
        )
    )
    UserSession.objects.filter(user=user, session_key__in=set(keys) - live).delete()
