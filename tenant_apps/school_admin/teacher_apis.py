"""The teacher API of a school's host: /api/v1/school/teachers/ (教师信息管理). Thin:
each write calls one registry.teachers.services (or .workbook) service; ID numbers and
phones are masked in every answer, as in the lists."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.actor import Actor
from common.masking import mask_id_number, mask_phone
from common.permissions import has_right
from common.schema import paginated
from tenant_apps.registry.models.teachers import Teacher
from tenant_apps.registry.teachers import services as teachers
from tenant_apps.registry.teachers import transfer as teacher_transfer
from tenant_apps.registry.teachers import workbook as teacher_workbook

FIELDS = [c.key for c in teachers.TEACHER_COLUMNS]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TeacherOutput(serializers.Serializer):
    id = serializers.IntegerField()
    staff_no = serializers.CharField()
    name = serializers.CharField()
    sex = serializers.CharField()
    id_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    subject = serializers.CharField()
    title = serializers.CharField()
    title_label = serializers.CharField(source="get_title_display")
    employment = serializers.CharField()
    employment_label = serializers.CharField(source="get_employment_display")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    status_note = serializers.CharField()
    status_since = serializers.DateField(allow_null=True)
    has_account = serializers.SerializerMethodField()

    def get_id_number(self, t: Teacher) -> str:
        return mask_id_number(t.id_number) if t.id_number else ""

    def get_phone(self, t: Teacher) -> str:
        return mask_phone(t.phone) if t.phone else ""

    def get_has_account(self, t: Teacher) -> bool:
        return t.user_id is not None


class TeacherInput(serializers.Serializer):
    """Values as typed: codes or labels for 性别, 职称, 用工形式, 任职状态; checked by
    the service, which names the field of each problem."""

    staff_no = serializers.CharField(max_length=60, allow_blank=True, required=False)
    name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    sex = serializers.CharField(max_length=10, allow_blank=True, required=False)
    id_number = serializers.CharField(max_length=40, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=40, allow_blank=True, required=False)
    subject = serializers.CharField(max_length=60, allow_blank=True, required=False)
    title = serializers.CharField(max_length=20, allow_blank=True, required=False)
    employment = serializers.CharField(max_length=20, allow_blank=True, required=False)
    status = serializers.CharField(max_length=20, allow_blank=True, required=False)


def _get(teacher_id: int) -> Teacher:
    teacher = teachers.teacher_get(teacher_id)
    if teacher is None:
        raise NotFound()
    return teacher


class TeacherListApi(APIView):
    """Teachers of the school (`q`: staff number, name or subject; `status`: serving
    (default), all or one status). POST adds one."""

    permission_classes = [has_right(Right.TEACHERS_MANAGE)]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="工号、姓名或任教学科"),
            OpenApiParameter("status", str, description="serving（默认）、all 或一种任职状态"),
            OpenApiParameter("page", int),
        ],
        operation_id="v1_school_teachers_list",
        responses=paginated(TeacherOutput, "PaginatedTeacherList"),
        summary="本校教师（分页）",
    )
    def get(self, request: Request) -> Response:
        rows = teachers.teacher_list(
            q=request.query_params.get("q", ""),
            status=request.query_params.get("status", "serving"),
        )
        # Paged as the student list is (count, next, previous, results).
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(TeacherOutput(page, many=True).data)

    @extend_schema(request=TeacherInput, responses={201: TeacherOutput}, summary="新增教师")
    def post(self, request: Request) -> Response:
        data = TeacherInput(data=request.data)
        data.is_valid(raise_exception=True)
        teacher = teachers.teacher_create(
            data=data.validated_data, actor=Actor.of(request.user), request=request
        )
        return Response(TeacherOutput(_get(teacher.pk)).data, status=status.HTTP_201_CREATED)


class TeacherDetailApi(APIView):
    """One teacher; PATCH changes the fields given."""

    permission_classes = [has_right(Right.TEACHERS_MANAGE)]

    @extend_schema(responses=TeacherOutput, summary="教师详情")
    def get(self, request: Request, teacher_id: int) -> Response:
        return Response(TeacherOutput(_get(teacher_id)).data)

    @extend_schema(request=TeacherInput, responses=TeacherOutput, summary="修改教师信息")
    def patch(self, request: Request, teacher_id: int) -> Response:
        teacher = _get(teacher_id)
        data = TeacherInput(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = {k: str(getattr(teacher, k) or "") for k in FIELDS}
        values.update(data.validated_data)
        teachers.teacher_update(
            teacher_id=teacher.pk, data=values, actor=Actor.of(request.user), request=request
        )
        return Response(TeacherOutput(_get(teacher_id)).data)


class TeacherDeactivateApi(APIView):
    """离职/退休/调出 (the record stays); `disable_account` also disables the account."""

    permission_classes = [has_right(Right.TEACHERS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=teachers.INACTIVE_CHOICES)
        note = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
        disable_account = serializers.BooleanField(required=False, default=False)

    @extend_schema(request=InputSerializer, responses=TeacherOutput, summary="教师离职")
    def post(self, request: Request, teacher_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        teachers.teacher_deactivate(
            teacher_id=teacher_id,
            **data.validated_data,
            actor=Actor.of(request.user),
            actor_user=request.user,  # type: ignore[arg-type]
            request=request,
        )
        return Response(TeacherOutput(_get(teacher_id)).data)


class TeacherImportApi(APIView):
    """Upload a teacher workbook. Without `mode` a dry run: the counts, every error by
    row and field, unrecognised headers. With `mode` (valid_only, all_or_nothing) the
    rows are checked again and written."""

    permission_classes = [has_right(Right.TEACHERS_MANAGE)]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        mode = serializers.ChoiceField(
            choices=[teacher_workbook.MODE_VALID_ONLY, teacher_workbook.MODE_ALL_OR_NOTHING],
            required=False,
        )
        acknowledge_headers = serializers.BooleanField(required=False, default=False)

    class OutputSerializer(serializers.Serializer):
        written = serializers.IntegerField()
        counts = serializers.DictField(child=serializers.IntegerField())
        errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]
        headers_unknown = serializers.ListField(child=serializers.DictField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="导入教师")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        name, content = upload.name or "upload.xlsx", upload.read()
        mode = data.validated_data.get("mode")
        if mode is None:
            report = teacher_workbook.teachers_dry_run(name=name, data=content)
            written = 0
        else:
            report = teacher_workbook.teachers_import(
                name=name,
                data=content,
                mode=mode,
                acknowledge_headers=data.validated_data["acknowledge_headers"],
                actor=Actor.of(request.user),
                request=request,
            )
            written = len(report.rows)
        body = {
            "written": written,
            "counts": report.counts,
            "errors": report.errors,
            "headers_unknown": report.headers_unknown,
        }
        return Response(self.OutputSerializer(body).data)


class TeacherTransferApi(APIView):
    """跨校转移: open the case (调出 `move` or 借调 `lend`) to the school of
    `to_school_code`; the two schools' approvers decide it under /api/v1/cases/. With
    `open_account` the receiving school's acceptance opens an account when it has none
    of that staff number; its answer carries the one-time password (`handed_over`)."""

    permission_classes = [has_right(Right.TEACHERS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=list(teacher_transfer.MODES.items()))
        to_school_code = serializers.CharField(max_length=20)
        reason = serializers.CharField(max_length=300, allow_blank=True, required=False)
        open_account = serializers.BooleanField(
            required=False,
            default=False,
            help_text="为调入学校开通账号（调入学校没有该工号的账号时）",
        )

    class OutputSerializer(serializers.Serializer):
        case_id = serializers.UUIDField()
        number = serializers.CharField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer}, summary="教师跨校转移"
    )
    def post(self, request: Request, teacher_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _get(teacher_id)
        case = teacher_transfer.teacher_transfer_start(
            teacher_id=teacher_id,
            to_school_code=data.validated_data["to_school_code"],
            mode=data.validated_data["mode"],
            reason=data.validated_data.get("reason", ""),
            actor=Actor.of(request.user),
            open_account=data.validated_data["open_account"],
        )
        body = {"case_id": case.pk, "number": case.number}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class TeacherTemplateApi(APIView):
    """The teacher import template (required headers red, a 填写说明 sheet)."""

    permission_classes = [has_right(Right.TEACHERS_MANAGE)]

    @extend_schema(responses={(200, XLSX): bytes}, summary="下载教师导入模板")
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(teacher_workbook.teacher_template(), content_type=XLSX)
        response["Content-Disposition"] = 'attachment; filename="teacher-template.xlsx"'
        return response
