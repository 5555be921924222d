from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.middleware import session_close
from accounts.models import User
from accounts.reauth import reauth_mark, token_key_of
from accounts.roles import Right, Role
from accounts.selectors import public_user_list, user_list, user_session_list
from accounts.services import (
    LoginStatus,
    locked_until,
    login_attempt,
    password_change,
    password_confirm,
    public_user_get,
    roles_allowed_here,
    user_create,
    user_session_end,
    user_session_rekey,
    user_sessions_end,
    user_sessions_prune,
    user_set_active,
    user_unlock,
)
from common.exceptions import ApplicationError
from common.permissions import Authenticated, has_right

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
    phone = serializers.CharField()
    is_active = serializers.BooleanField()
    roles = serializers.SerializerMethodField()
    region = serializers.CharField(source="region_id", allow_null=True)
    must_change_password = serializers.BooleanField()
    locked_until = serializers.SerializerMethodField(help_text="锁定结束时间；未锁定为 null")
    totp_enabled = serializers.BooleanField()

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


class TokenObtainApi(APIView):
    """Exchange a username and password of this host's accounts for an API token.

    Accounts with two-factor authentication also send `otp`, the 6-digit code. Repeated
    failures lock the account exactly as on the login page."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(trim_whitespace=False)
        otp = serializers.CharField(required=False, allow_blank=True, help_text="两步验证码")

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="获取接口令牌")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = login_attempt(
            request=request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            code=data.validated_data.get("otp") or None,
        )
        if not result.ok or result.user is None:
            code = LOGIN_ERROR_CODES.get(result.status, "authentication_failed")
            raise ApplicationError(result.message, code=code)
        token, _ = Token.objects.get_or_create(user=result.user)
        # The password was just entered: sensitive actions with this token may follow.
        reauth_mark(request._request, token_key=token.key)
        return Response({"token": token.key})


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
            user=request.user, password=data.validated_data["password"], request=request
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
        password_change(user=request.user, **data.validated_data)
        keep = None
        if request.auth is None:  # signed in with this session: it stays, the others end
            old_key = request.session.session_key
            update_session_auth_hash(request._request, request.user)
            keep = request.session.session_key
            user_session_rekey(old_key=old_key, new_key=keep)
        user_sessions_end(user=request.user, keep_key=keep)
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
        user_unlock(user=user, actor=request.user, request=request)
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
            user=user, active=data.validated_data["active"], actor=request.user, request=request
        )
        return Response(UserOutput(user).data)


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
        user_unlock(user=user, actor=request.user, request=request)
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
            user=user, active=data.validated_data["active"], actor=request.user, request=request
        )
        return Response(UserOutput(user).data)


class SessionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    browser = serializers.CharField()
    current = serializers.BooleanField(help_text="发出本请求的会话")


class MySessionListApi(APIView):
    """The signed-in user's browser sessions on this host (我的登录)."""

    permission_classes = [Authenticated]

    @extend_schema(responses=SessionOutput(many=True), summary="我的登录会话")
    def get(self, request: Request) -> Response:
        user_sessions_prune(user=request.user)
        current = request.session.session_key if request.auth is None else None
        rows = user_session_list(user=request.user, current_key=current)
        return Response(SessionOutput(rows, many=True).data)


class MySessionEndApi(APIView):
    """Sign one of the user's own sessions out (the other browser is signed out at once)."""

    permission_classes = [Authenticated]

    @extend_schema(request=None, responses={204: None}, summary="退出该会话")
    def post(self, request: Request, session_id: int) -> Response:
        try:
            ended = user_session_end(user=request.user, session_id=session_id)
        except ApplicationError as exc:
            raise NotFound(exc.message) from exc
        if request.auth is None and ended == request.session.session_key:
            session_close(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MySessionsEndOthersApi(APIView):
    """Sign out every other session of the user (all of them when called with a token)."""

    permission_classes = [Authenticated]

    class OutputSerializer(serializers.Serializer):
        ended = serializers.IntegerField()

    @extend_schema(request=None, responses=OutputSerializer, summary="退出其他全部会话")
    def post(self, request: Request) -> Response:
        keep = request.session.session_key if request.auth is None else None
        return Response({"ended": user_sessions_end(user=request.user, keep_key=keep)})
