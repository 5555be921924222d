"""API token authentication: django-rest-knox, with Chinese refusals and the last use
recorded for "我的登录".

Header: `Authorization: Token <token>`. The token table is in the host's schema, so a
token of another school (or of the bureau host) is simply unknown here. An expired
token is deleted when presented; a user's other expired tokens when a token is issued.
"""

from __future__ import annotations

import binascii
from datetime import timedelta
from hmac import compare_digest
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
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

    def authenticate_credentials(self, token: bytes) -> tuple[Any, ApiToken]:
        """knox's look-up in one query: the token, its user, and what the permission
        checks need of the user (backends.rights_annotations). knox's own asks for the
        token and user, then for all the user's tokens (to delete expired ones), then
        the checks ask for the roles and the groups' rights: four queries a request,
        about 7 ms of a 17-ms student list (bench/RESULTS.md, load.py)."""
        from accounts.backends import rights_annotations

        text = token.decode("utf-8", errors="replace")
        candidates = (
            ApiToken.objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user")
            .annotate(**rights_annotations("user_id"))
        )
        for auth_token in candidates:
            if self._expired(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error) as exc:
                raise _refusal(MSG_TOKEN_INVALID) from exc
            if compare_digest(digest, auth_token.digest):
                user = auth_token.user
                user.role_names = auth_token.role_names
                user.group_right_names = auth_token.group_right_names
                return self.validate_user(auth_token)
        raise _refusal(MSG_TOKEN_INVALID)

    @staticmethod
    def _expired(auth_token: ApiToken) -> bool:
        """Whether the presented token has expired (then it is deleted, as knox does).
        The user's other expired tokens are deleted when a token is issued
        (sessions.api_token_issue), not looked up on every request."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

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
