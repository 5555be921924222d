from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right, Role
from accounts.selectors import user_list
from accounts.services import password_change, roles_allowed_here, user_create
from common.exceptions import ApplicationError
from common.permissions import Authenticated, has_right


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    phone = serializers.CharField()
    is_active = serializers.BooleanField()
    roles = serializers.SerializerMethodField()
    region = serializers.CharField(source="region_id", allow_null=True)
    must_change_password = serializers.BooleanField()

    def get_roles(self, user) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(user.role_codes)


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
    """Exchange a username and password of this host's accounts for an API token."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField()

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="获取接口令牌")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request._request, **data.validated_data)
        if user is None or not user.is_active:
            raise ApplicationError("用户名或密码不正确。", code="authentication_failed")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


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
