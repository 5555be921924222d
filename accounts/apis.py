from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.signals import user_logged_in
from django.db import connection
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.devices import device_remember
from accounts.login import (
    LoginStatus,
    locked_until,
    login_attempt,
    password_change,
    password_confirm,
)
from accounts.middleware import session_close
from accounts.models import User
from accounts.reauth import PASSWORD_RESET, reauth_mark, sensitive, token_key_of
from accounts.roles import Right, Role
from accounts.selectors import public_user_list, user_list, user_session_list, user_token_list
from accounts.services import (
    public_user_get,
    roles_allowed_here,
    user_create,
    user_password_reset,
    user_set_active,
    user_unlock,
)
from accounts.sessions import (
    DEFAULT_CLIENT,
    api_token_issue,
    api_token_revoke,
    client_ip,
    user_session_end,
    user_session_rekey,
    user_sessions_end,
    user_sessions_prune,
)
from common.exceptions import ApplicationError
from common.masking import mask_phone
from common.permissions import Authenticated, has_right
from common.schema import ErrorResponse

# Error codes of refused sign-ins (TokenObtainApi) and re-entered passwords (ReauthApi).
LOGIN_ERROR_CODES = {
    LoginStatus.LOCKED: "account_locked",
    LoginStatus.INACTIVE: "account_disabled",
    LoginStatus.TOTP_REQUIRED: "totp_required",
    LoginStatus.TOTP_INVALID: "totp_invalid",
}


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    # Masked as every page masks a phone (no page lists staff phones in full).
    phone = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()
    roles = serializers.SerializerMethodField()
    region = serializers.CharField(source="region_id", allow_null=True)
    must_change_password = serializers.BooleanField()
    locked_until = serializers.SerializerMethodField(help_text="锁定结束时间；未锁定为 null")
    totp_enabled = serializers.BooleanField()

    def get_phone(self, user) -> str:  # type: ignore[no-untyped-def]
        return mask_phone(user.phone)

    def get_roles(self, user) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(user.role_codes)

    def get_locked_until(self, user) -> str | None:  # type: ignore[no-untyped-def]
        until = locked_until(user)
        return serializers.DateTimeField().to_representation(until) if until else None


class MeApi(APIView):
    permission_classes = [Authenticated]
    allow_initial_password = True

    class OutputSerializer(UserOutput):
        rights = serializers.SerializerMethodField()
        schema = serializers.SerializerMethodField()

        def get_rights(self, user) -> list[str]:  # type: ignore[no-untyped-def]
            return sorted(user.rights)

        def get_schema(self, user) -> str:  # type: ignore[no-untyped-def]
            return str(connection.schema_name)

    @extend_schema(responses=OutputSerializer, summary="当前登录用户")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user).data)


def login_throttled(message: str, wait: int) -> Throttled:
    """429 with the Chinese message and Retry-After (DRF would append English)."""
    throttled = Throttled(detail=message)
    throttled.wait = wait  # type: ignore[attr-defined]
    return throttled


class TokenObtainApi(APIView):
    """Exchange a username and password of this host's accounts for an API token.

    One token per named client (`client`, e.g. "成绩导入脚本"): asking again for the
    same client replaces its token. Tokens expire after API_TOKEN_HOURS and are listed
    and revocable under "我的登录". Accounts with two-factor authentication also send
    `otp`, the 6-digit code. Logins are throttled per client address and per host (429),
    and repeated failures lock the account exactly as on the login page."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(trim_whitespace=False)
        otp = serializers.CharField(required=False, allow_blank=True, help_text="两步验证码")
        client = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=60,
            help_text=f"客户端名称，每个客户端一个令牌；默认“{DEFAULT_CLIENT}”",
        )

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="仅显示这一次")
        expiry = serializers.DateTimeField(help_text="到期时间")
        client = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, 429: ErrorResponse},  # 429: login throttles
        summary="获取接口令牌",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = login_attempt(
            request=request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            code=data.validated_data.get("otp") or None,
        )
        if result.status is LoginStatus.THROTTLED:
            raise login_throttled(result.message, result.retry_after)
        if not result.ok or result.user is None:
            code = LOGIN_ERROR_CODES.get(result.status, "authentication_failed")
            raise ApplicationError(result.message, code=code)
        issued = api_token_issue(
            user=result.user,
            client=data.validated_data.get("client") or "",
            ip=client_ip(request.META),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        user_logged_in.send(sender=User, request=request._request, user=result.user)
        # The password was just entered: sensitive actions with this token may follow.
        reauth_mark(request._request, token_key=issued.digest)
        response = Response(self.OutputSerializer(issued).data)
        device_remember(request._request, response, result.user.pk)
        return response


class ReauthApi(APIView):
    """Enter the password again before a sensitive action (for REAUTH_MINUTES, in this
    session or for this token)."""

    permission_classes = [Authenticated]

    class InputSerializer(serializers.Serializer):
        password = serializers.CharField(trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={204: None}, summary="再次输入密码确认")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = password_confirm(
            user=request.user,  # type: ignore[arg-type]
            password=data.validated_data["password"],
            request=request,
        )
        if not result.ok:
            code = LOGIN_ERROR_CODES.get(result.status, "password")
            raise ApplicationError(result.message, code=code)
        reauth_mark(request._request, token_key=token_key_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    permission_classes = [Authenticated]
    allow_initial_password = True

    class InputSerializer(serializers.Serializer):
        old_password = serializers.CharField()
        new_password = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={204: None}, summary="修改密码")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # This session or this token stays; every other one ends.
        password_change(user=request.user, request=request, **data.validated_data)  # type: ignore[arg-type]
        if request.auth is None:  # signed in with this session: it gets a new key
            old_key = request.session.session_key
            update_session_auth_hash(request._request, request.user)  # type: ignore[arg-type]
            user_session_rekey(old_key=old_key, new_key=request.session.session_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserListCreateApi(APIView):
    """School accounts (school administrators only, on the school's own host)."""

    permission_classes = [has_right(Right.USERS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=30)
        full_name = serializers.CharField(max_length=50)
        phone = serializers.CharField(max_length=20, required=False, default="")
        roles = serializers.ListField(
            child=serializers.ChoiceField(choices=Role.choices), allow_empty=False
        )

    class CreatedSerializer(serializers.Serializer):
        user_id = serializers.IntegerField()
        username = serializers.CharField()
        initial_password = serializers.CharField(help_text="仅显示这一次")

    @extend_schema(responses=UserOutput(many=True), summary="本校用户列表")
    def get(self, request: Request) -> Response:
        return Response(UserOutput(user_list(), many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: CreatedSerializer}, summary="新建本校用户"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if set(data.validated_data["roles"]) - {str(r) for r in roles_allowed_here()}:
            raise ApplicationError("只能授予本校角色。", code="role")
        created = user_create(**data.validated_data)
        return Response(self.CreatedSerializer(created).data, status=status.HTTP_201_CREATED)


def _school_user(user_id: int) -> User:
    if connection.schema_name == "public":
        raise NotFound()
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    return user


class UserUnlockApi(APIView):
    """Lift the lock of an account locked after repeated failures (school administrators,
    this school's accounts)."""

    permission_classes = [has_right(Right.USERS_MANAGE)]

    @extend_schema(request=None, responses=UserOutput, summary="解锁本校用户")
    def post(self, request: Request, user_id: int) -> Response:
        user = _school_user(user_id)
        user_unlock(user=user, actor=request.user, request=request)  # type: ignore[arg-type]
        return Response(UserOutput(user).data)


class UserActiveApi(APIView):
    """Enable or disable an account of this school; disabling ends its sessions at once.
    Nobody disables his or her own account."""

    permission_classes = [has_right(Right.USERS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        active = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses=UserOutput, summary="启用或停用本校用户")
    def post(self, request: Request, user_id: int) -> Response:
        user = _school_user(user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_set_active(
            user=user,
            active=data.validated_data["active"],
            actor=request.user,  # type: ignore[arg-type]
            request=request,
        )
        return Response(UserOutput(user).data)


@sensitive(PASSWORD_RESET)
class UserPasswordResetApi(APIView):
    """重置密码 of an account of this school: a new one-time password (in this answer
    only), to be changed at the next sign-in; the account's sessions end and its API
    tokens are revoked. Not for one's own account (use /api/v1/auth/password/)."""

    permission_classes = [has_right(Right.USERS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        confirm = serializers.BooleanField(help_text="须为 true")

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        initial_password = serializers.CharField(help_text="仅显示这一次")
        ended = serializers.IntegerField(help_text="结束的登录会话与注销的接口令牌数")

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="重置本校用户密码")
    def post(self, request: Request, user_id: int) -> Response:
        user = _school_user(user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["confirm"]:
            raise ValidationError({"confirm": [gettext("请确认重置该账号的密码。")]})
        reset = user_password_reset(user=user, actor=request.user, request=request)  # type: ignore[arg-type]
        return Response(self.OutputSerializer(reset).data, headers={"Cache-Control": "no-store"})


# -- bureau and platform accounts (bureau host, platform operators) ---------------------


def _public_user(public_user_id: int) -> User:
    user = public_user_get(public_user_id)
    if user is None:
        raise NotFound()
    return user


class PlatformUserListApi(APIView):
    """Every bureau and platform account (platform operators, bureau host)."""

    permission_classes = [has_right(Right.PLATFORM_BUREAUS_MANAGE)]

    @extend_schema(responses=UserOutput(many=True), summary="教育局和平台账号列表")
    def get(self, request: Request) -> Response:
        if connection.schema_name != "public":
            raise NotFound()
        return Response(UserOutput(public_user_list(), many=True).data)


class PlatformUserUnlockApi(APIView):
    """Lift the lock of a bureau or platform account (platform operators)."""

    permission_classes = [has_right(Right.PLATFORM_BUREAUS_MANAGE)]

    @extend_schema(request=None, responses=UserOutput, summary="解锁教育局或平台账号")
    def post(self, request: Request, public_user_id: int) -> Response:
        user = _public_user(public_user_id)
        user_unlock(user=user, actor=request.user, request=request)  # type: ignore[arg-type]
        return Response(UserOutput(user).data)


class PlatformUserActiveApi(APIView):
    """Enable or disable a bureau or platform account (platform operators); disabling
    ends its sessions at once, nobody disables his or her own account."""

    permission_classes = [has_right(Right.PLATFORM_BUREAUS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        active = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer, responses=UserOutput, summary="启用或停用教育局或平台账号"
    )
    def post(self, request: Request, public_user_id: int) -> Response:
        user = _public_user(public_user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_set_active(
            user=user,
            active=data.validated_data["active"],
            actor=request.user,  # type: ignore[arg-type]
            request=request,
        )
        return Response(UserOutput(user).data)


def _token_id(request: Request) -> int | None:
    """The id of the API token the request came with (None for a session)."""
    return getattr(request.auth, "pk", None)


class SessionOutput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[("session", "浏览器会话"), ("token", "接口令牌")],
        help_text="session：浏览器会话；token：接口客户端的令牌",
    )
    id = serializers.IntegerField(help_text="结束时使用，会话与令牌各自编号")
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    browser = serializers.CharField()
    client = serializers.CharField(help_text="接口客户端名称（令牌）")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="令牌到期时间")
    current = serializers.BooleanField(help_text="发出本请求的会话或令牌")


class MySessionListApi(APIView):
    """The signed-in user's browser sessions and API tokens on this host (我的登录)."""

    permission_classes = [Authenticated]

    @extend_schema(responses=SessionOutput(many=True), summary="我的登录会话与接口令牌")
    def get(self, request: Request) -> Response:
        user_sessions_prune(user=request.user)  # type: ignore[arg-type]
        current = request.session.session_key if request.auth is None else None
        rows = user_session_list(user=request.user, current_key=current)  # type: ignore[arg-type]
        rows += user_token_list(user=request.user, current_id=_token_id(request))  # type: ignore[arg-type]
        return Response(SessionOutput(rows, many=True).data)


class MySessionEndApi(APIView):
    """Sign one of the user's own sessions out (the other browser is signed out at once)."""

    permission_classes = [Authenticated]

    @extend_schema(request=None, responses={204: None}, summary="退出该会话")
    def post(self, request: Request, session_id: int) -> Response:
        try:
            ended = user_session_end(user=request.user, session_id=session_id)  # type: ignore[arg-type]
        except ApplicationError as exc:
            raise NotFound(exc.message) from exc
        if request.auth is None and ended == request.session.session_key:
            session_close(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyTokenRevokeApi(APIView):
    """Revoke one of the user's own API tokens (that client is signed out at once)."""

    permission_classes = [Authenticated]

    @extend_schema(request=None, responses={204: None}, summary="注销该接口令牌")
    def post(self, request: Request, token_id: int) -> Response:
        try:
            api_token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
        except ApplicationError as exc:
            raise NotFound(exc.message) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MySessionsEndOthersApi(APIView):
    """Sign out every other session and revoke every other API token of the user (the
    session or token of this request stays)."""

    permission_classes = [Authenticated]

    class OutputSerializer(serializers.Serializer):
        ended = serializers.IntegerField(help_text="结束的会话与令牌数")

    @extend_schema(request=None, responses=OutputSerializer, summary="退出其他全部会话")
    def post(self, request: Request) -> Response:
        keep = request.session.session_key if request.auth is None else None
        ended = user_sessions_end(
            user=request.user,  # type: ignore[arg-type]
            keep_key=keep,
            keep_token_id=_token_id(request),
        )
        return Response({"ended": ended})
