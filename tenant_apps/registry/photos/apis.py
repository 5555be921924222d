"""照片采集 API on a school's host, as the student page has it: the student's photos, the
single upload (normalised, kept pending with its warnings) and the decision on it. Same
right (照片采集) and the same audit entries as the pages (registry.photos.services)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.actor import Actor
from common.permissions import has_right
from tenant_apps.registry.models import Student, StudentPhoto
from tenant_apps.registry.photos import selectors, services

MSG_NO_FILE = "请选择一张照片（手机照片、JPEG、PNG 或 HEIC 均可）。"


class WarningOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField(help_text="Chinese, what is wrong and what to do")


class PhotoOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="pending | current | replaced | rejected")
    status_label = serializers.CharField(source="get_status_display")
    source = serializers.CharField(help_text="upload | bulk | family")  # type: ignore[assignment]
    warnings = WarningOutput(many=True)
    bytes = serializers.IntegerField()
    quality = serializers.IntegerField()
    faces = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by_label = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="signed /files/ link, national file")
    original_url = serializers.SerializerMethodField(help_text="signed /files/ link, upload")

    def get_url(self, photo: StudentPhoto) -> str:
        return selectors.photo_url(photo)

    def get_original_url(self, photo: StudentPhoto) -> str:
        return selectors.photo_original_url(photo)


def _student(student_id: Any) -> Student:
    student = (
        Student.objects.exclude(audit_state=Student.Audit.DELETED)
        .filter(identifier=student_id)
        .first()
    )
    if student is None:
        raise NotFound("未找到该学生。")
    return student


class StudentPhotoApi(APIView):
    """GET: the student's photos, newest first. POST (multipart, field `photo`): upload one
    picture; it is normalised and kept pending with its warnings until decided."""

    permission_classes = [has_right(Right.PHOTOS_MANAGE)]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        photo = serializers.FileField(help_text="phone picture, JPEG, PNG or HEIC")

    @extend_schema(responses=PhotoOutput(many=True), summary="学生照片及其历史")
    def get(self, request: Request, student_id: Any) -> Response:
        student = _student(student_id)
        photos = selectors.photo_history(student_id=student.pk)
        return Response(PhotoOutput(photos, many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: PhotoOutput},
        summary="上传学生照片（自动规范化，待确认）",
    )
    def post(self, request: Request, student_id: Any) -> Response:
        student = _student(student_id)
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            raise ValidationError({"photo": [MSG_NO_FILE]})
        upload = data.validated_data["photo"]
        photo = services.photo_stage(
            student_id=student.pk,
            data=upload.read(),
            name=upload.name or "",
            actor=Actor.of(request.user),
            request=request,
        )
        return Response(PhotoOutput(photo).data, status=status.HTTP_201_CREATED)


class StudentPhotoDecideApi(APIView):
    """使用此照片 (accept) or 放弃 (discard) a pending photo."""

    permission_classes = [has_right(Right.PHOTOS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["accept", "discard"])

    @extend_schema(request=InputSerializer, responses=PhotoOutput, summary="确认或放弃待确认照片")
    def post(self, request: Request, student_id: Any, photo_id: int) -> Response:
        student = _student(student_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decide = (
            services.photo_accept
            if data.validated_data["action"] == "accept"
            else services.photo_discard
        )
        photo = decide(
            photo_id=photo_id, student_id=student.pk, actor=Actor.of(request.user), request=request
        )
        return Response(PhotoOutput(photo).data)
