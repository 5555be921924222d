from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.rights import registrar_appoint
from accounts.roles import Right
from common.actor import Actor
from common.permissions import has_right


class RegistrarAppointApi(APIView):
    """Appoint the school's 学籍管理员: the previous holder's term ends and he or she loses
    the role in the same transaction (one registrar per school at a time)."""

    permission_classes = [has_right(Right.USERS_MANAGE)]

    class OutputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField()
        username = serializers.CharField(source="user.username")
        full_name = serializers.CharField(source="user.full_name")
        started_at = serializers.DateTimeField()
        appointed_by = serializers.CharField()

    @extend_schema(request=None, responses=OutputSerializer, summary="任命学籍管理员")
    def post(self, request: Request, user_id: int) -> Response:
        if not User.objects.filter(pk=user_id).exists():
            raise NotFound()
        term = registrar_appoint(user_id=user_id, actor=Actor.of(request.user))
        return Response(self.OutputSerializer(term).data)
