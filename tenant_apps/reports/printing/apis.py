"""打印中心's API: every document for one student, a class, a grade or the school, under
the rights, masking and audit rules of the pages (services.print_start): the file itself
for a small scope, 202 with a job id for a large one (GET /api/v1/jobs/<job_id>/ for its
progress; its result is a signed link for the owner, opened by PrintFileApi)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.permissions import has_right
from common.schema import ErrorResponse
from common.views import content_disposition
from tenant_apps.reports.printing import selectors, services
from tenant_apps.reports.printing.documents import PDF, XLSX, ZIP
from tenant_apps.reports.printing.views import file_response, target_of
from tenants.storage import download_name


class PrintApi(APIView):
    """Make a document (新生名册, 学生花名册, 学籍卡片, 学生信息核对表, 毕业生名册, 成绩单)."""

    permission_classes = [has_right(Right.REPORTS_PRINT)]

    class InputSerializer(serializers.Serializer):
        document = serializers.ChoiceField(choices=list(selectors.DOCUMENTS.items()))
        scope = serializers.ChoiceField(choices=list(selectors.SCOPES))
        format = serializers.ChoiceField(choices=list(services.FORMATS), default="pdf")
        student = serializers.CharField(
            required=False, help_text="scope=student：学生标识、全国学籍号或身份证件号"
        )
        class_id = serializers.IntegerField(required=False, help_text="scope=class")
        grade = serializers.CharField(
            required=False, help_text="scope=grade：学段-入学年份，如 primary-2024"
        )
        year = serializers.IntegerField(
            required=False,
            min_value=1990,
            max_value=2100,
            help_text="新生名册的入学年份、毕业生名册的毕业年份",
        )

    class JobStartedSerializer(serializers.Serializer):
        job_id = serializers.CharField(help_text="GET /api/v1/jobs/<job_id>/ 查看进度")
        students = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer,
        responses={
            (200, PDF): OpenApiResponse(bytes, description="PDF（小范围直接下载）"),
            (200, XLSX): OpenApiResponse(bytes, description="Excel（小范围直接下载）"),
            202: JobStartedSerializer,
            # The student, class or grade named in the body is not (or not visibly) here.
            404: ErrorResponse,
        },
        summary="打印中心：生成文档",
        operation_id="reports_print_create",
    )
    def post(self, request: Request) -> HttpResponse | Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        target = target_of(values)
        if target is None:  # the serializer admits only known documents and scopes
            raise NotFound
        try:
            started = services.print_start(
                request=request,
                target=target,
                fmt=values.get("format", "pdf"),
                school_name=request.tenant.name,  # type: ignore[attr-defined]
            )
        except selectors.NotFound:
            raise NotFound from None
        if started.printed is not None:
            return file_response(started.printed)
        return Response(
            {"job_id": started.job_id, "students": started.count},
            status=status.HTTP_202_ACCEPTED,
        )


class PrintFileApi(APIView):
    """The file of a finished print job (its result link's token), for its owner only."""

    permission_classes = [has_right(Right.REPORTS_PRINT)]

    @extend_schema(
        responses={
            (200, PDF): OpenApiResponse(bytes),
            (200, XLSX): OpenApiResponse(bytes),
            (200, ZIP): OpenApiResponse(bytes),
        },
        summary="打印中心：下载后台生成的文件",
    )
    def get(self, request: Request, print_token: str) -> HttpResponseBase:
        key = services.print_file_key(token=print_token, user_id=request.user.pk)  # type: ignore[arg-type]
        if key is None:
            raise NotFound
        # Streamed (a 5,000-card ZIP is tens of MB) under the name the page's link uses.
        response = FileResponse(
            default_storage.open(key, "rb"), content_type=services.content_type_of(key)
        )
        response["Content-Disposition"] = content_disposition(
            download_name(key) or key.rsplit("/", 1)[-1]
        )
        return response
