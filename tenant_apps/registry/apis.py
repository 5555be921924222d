from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.permissions import has_right
from tenant_apps.registry.selectors import class_list, registry_counts


class SchoolInfoApi(APIView):
    """The school of this host with its headline counts."""

    permission_classes = [has_right(Right.SCHOOL_VIEW)]

    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        code = serializers.CharField()
        stages = serializers.ListField(child=serializers.CharField())
        county = serializers.CharField(source="county_id")
        address = serializers.CharField()
        principal = serializers.CharField()
        phone = serializers.CharField()
        status = serializers.CharField()
        counts = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(responses=OutputSerializer, summary="本校信息与人数")
    def get(self, request: Request) -> Response:
        school = request.tenant  # type: ignore[attr-defined]
        school.counts = registry_counts()
        return Response(self.OutputSerializer(school).data)


class ClassListApi(APIView):
    permission_classes = [has_right(Right.SCHOOL_VIEW)]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        class_no = serializers.CharField()
        name = serializers.CharField()
        stage = serializers.CharField()
        entry_year = serializers.IntegerField()
        teacher_name = serializers.CharField()
        student_count = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer(many=True), summary="本校班级")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(class_list(), many=True).data)
