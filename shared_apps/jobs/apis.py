from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.permissions import Authenticated
from shared_apps.jobs.selectors import job_get_for, job_list_for


class JobOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    title = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    percent = serializers.IntegerField()
    message = serializers.CharField()
    result_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class JobListApi(APIView):
    permission_classes = [Authenticated]

    @extend_schema(responses=JobOutput(many=True), summary="我的后台任务")
    def get(self, request: Request) -> Response:
        return Response(JobOutput(job_list_for(user_id=request.user.pk)[:50], many=True).data)  # type: ignore[arg-type]


class JobDetailApi(APIView):
    """Polled by progress bars: state, percent, message and a link to the result."""

    permission_classes = [Authenticated]

    @extend_schema(responses=JobOutput, summary="任务进度")
    def get(self, request: Request, job_id: str) -> Response:
        job = job_get_for(user_id=request.user.pk, job_id=job_id)  # type: ignore[arg-type]
        if job is None:
            raise NotFound()
        return Response(JobOutput(job).data)
