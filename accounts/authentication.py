"""API token authentication: django-rest-knox, with Chinese refusals and the last use
recorded for "我的登录".

Header: `Authorization: Token <token>`. The token table is in the host's schema, so a
token of another school (or of the bureau host) is simply unknown here. Expired tokens
are deleted by knox when presented.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from accounts.models import ApiToken

MSG_TOKEN_INVALID = gettext_noop("接口令牌无效或已过期，请重新获取。")
MSG_TOKEN_USER_INACTIVE = gettext_noop("该账号已停用，请联系管理员。")
# The last use shown under "我的登录" is written at most this often per token.
TOUCH_EVERY = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        try:
            return super().authenticate(request)  # type: ignore[no-any-return]
        except exceptions.AuthenticationFailed as exc:
            if getattr(exc, "_ours", False):
                raise
            # knox's own (English) refusals: a malformed header or an unknown token.
            raise _refusal(MSG_TOKEN_INVALID) from exc

    def validate_user(self, auth_token: ApiToken) -> tuple[Any, ApiToken]:
        if not auth_token.user.is_active:
            raise _refusal(MSG_TOKEN_USER_INACTIVE)
        now = timezone.now()
        if auth_token.last_used_at is None or now - auth_token.last_used_at >= TOUCH_EVERY:
            ApiToken.objects.filter(pk=auth_token.pk).update(last_used_at=now)
            auth_token.last_used_at = now
        return auth_token.user, auth_token


def _refusal(message: str) -> exceptions.AuthenticationFailed:
    refused = exceptions.AuthenticationFailed(gettext(message))
    refused._ours = True  # type: ignore[attr-defined]
    return refused


class ApiTokenScheme(KnoxTokenScheme):
    """OpenAPI: the scheme is knox's (`Authorization: Token <token>`)."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"
