"""API of the grade statistics: every statistics table (and its Excel file), the mark
sheets, and the marks import (template, upload with the dry-run report, confirm). Same
rights, scope, audit and rules as the pages (gradestats.views, import_views): 查询统计
for the tables and sheets, 成绩录入 and the cell rule for the import."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.permissions import has_right
from tenant_apps.grades import imports
from tenant_apps.grades.terms import current_term, term_parse
from tenant_apps.registry.imports.columns import UploadRejected
from tenant_apps.reports.gradestats import exports, views
from tenant_apps.reports.gradestats import selectors as stats

XLSX = exports.XLSX
QUERY = [
    OpenApiParameter("year", str, description="学年，如 2026-2027（默认本学期）"),
    OpenApiParameter("term", int, description="学期 1 或 2"),
    OpenApiParameter("grade", str, description="年级（classes、class、terms 表）"),
    OpenApiParameter("course", int, description="课程 id"),
    OpenApiParameter("class", int, description="班级 id（terms 表）"),
]
# "output", not "format": DRF reads ?format= as the choice of its own renderer.
SHEET_QUERY = [
    OpenApiParameter("output", str, enum=["xlsx", "pdf"], description="文件格式，默认 xlsx"),
    OpenApiParameter("year", str, description="学年（班级成绩表）"),
    OpenApiParameter("term", int, description="学期（班级成绩表）"),
]


class GradeStatsRow(serializers.Serializer):
    """One row of a statistics table: its lead labels and figures."""

    labels = serializers.ListField(child=serializers.CharField())
    marks = serializers.IntegerField(source="stat.marks", help_text="成绩数")
    scored = serializers.IntegerField(source="stat.scored", help_text="有分数的成绩数")
    average = serializers.DecimalField(
        source="stat.average", max_digits=5, decimal_places=1, allow_null=True
    )
    pass_rate = serializers.DecimalField(
        source="stat.pass_rate",
        max_digits=5,
        decimal_places=1,
        allow_null=True,
        help_text="及格率（合格及以上），百分数",
    )
    levels = serializers.SerializerMethodField()

    @extend_schema_field(
        inline_serializer(
            "GradeStatsLevels",
            {
                "excellent": serializers.IntegerField(),
                "good": serializers.IntegerField(),
                "passed": serializers.IntegerField(),
                "fail": serializers.IntegerField(),
            },
        )
    )
    def get_levels(self, row: stats.Row) -> dict[str, int]:
        e, g, p, f = row.stat.levels
        return {"excellent": e, "good": g, "passed": p, "fail": f}


def _table(request: Request, table: str) -> stats.StatTable:
    if table not in views.TABLES:
        raise NotFound()
    return views.table_for(table, params=request.query_params, scope=stats.scope_for(request.user))


class GradeStatsApi(APIView):
    """One statistics table: course, grade, class (per term), classes (横向对比 within a
    grade), terms (纵向对比)."""

    permission_classes = [has_right(Right.STATS_VIEW)]

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        title = serializers.CharField()
        lead = serializers.ListField(child=serializers.CharField())
        rows = GradeStatsRow(many=True)

    @extend_schema(
        parameters=QUERY,
        responses=OutputSerializer,
        summary="成绩统计表",
        operation_id="reports_grades_stats_retrieve",
    )
    def get(self, request: Request, stats_table: str) -> Response:
        return Response(self.OutputSerializer(_table(request, stats_table)).data)


class GradeStatsExportApi(APIView):
    permission_classes = [has_right(Right.STATS_VIEW)]

    @extend_schema(parameters=QUERY, responses={(200, XLSX): bytes}, summary="导出成绩统计表")
    def get(self, request: Request, stats_table: str) -> HttpResponse:
        table = stats_table
        found = _table(request, table)
        filters = {
            k: request.query_params.get(k, "") for k in ("year", "term", "grade", "course", "class")
        }
        data = exports.table_xlsx(found, request=request, filters=filters)
        response = HttpResponse(data, content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="grade-stats-{table}.xlsx"'
        return response


def _sheet(request: Request, sheet: exports.Sheet, filters: dict[str, Any]) -> HttpResponse:
    fmt = "pdf" if request.query_params.get("output") == "pdf" else "xlsx"
    data = exports.sheet_file(sheet, fmt=fmt, request=request, filters=filters)
    response = HttpResponse(data, content_type="application/pdf" if fmt == "pdf" else XLSX)
    response["Content-Disposition"] = f'attachment; filename="{sheet.filename}.{fmt}"'
    return response


class ClassMarkSheetApi(APIView):
    permission_classes = [has_right(Right.STATS_VIEW)]

    @extend_schema(
        parameters=SHEET_QUERY,
        responses={(200, XLSX): bytes, (200, "application/pdf"): bytes},
        summary="班级成绩表",
    )
    def get(self, request: Request, class_id: int) -> HttpResponse:
        try:
            klass = views.sheet_class(request.user, class_id)
        except Http404 as exc:
            raise NotFound() from exc
        term = (
            term_parse(request.query_params.get("year"), request.query_params.get("term"))
            or current_term()
        )
        return _sheet(
            request,
            exports.class_sheet(klass=klass, term=term),
            {"class": klass.name, "year": term.school_year, "term": term.term},
        )


class StudentMarkSheetApi(APIView):
    permission_classes = [has_right(Right.STATS_VIEW)]

    @extend_schema(
        parameters=SHEET_QUERY[:1],
        responses={(200, XLSX): bytes, (200, "application/pdf"): bytes},
        summary="学生成绩表",
    )
    def get(self, request: Request, mark_student_id: int) -> HttpResponse:
        try:
            student = views.sheet_student(request.user, mark_student_id)
        except Http404 as exc:
            raise NotFound() from exc
        return _sheet(request, exports.student_sheet(student=student), {"student": student.pk})


class MarksImportTemplateApi(APIView):
    permission_classes = [has_right(Right.GRADES_ENTER)]

    @extend_schema(responses={(200, XLSX): bytes}, summary="下载班级成绩导入模板")
    def get(self, request: Request, class_id: int) -> HttpResponse:
        try:
            data = imports.template_build(user=request.user, class_id=class_id)
        except ApplicationError as exc:
            raise NotFound() from exc
        response = HttpResponse(data, content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="marks-import-{class_id}.xlsx"'
        return response


class MarksImportError(serializers.Serializer):
    """One problem the dry run found, with its Excel row and column."""

    row = serializers.IntegerField()
    column = serializers.CharField()
    header = serializers.CharField()
    message = serializers.CharField()


class MarksImportApi(APIView):
    """Upload a filled template: the dry run. Nothing is written; when there is no error
    the answer carries the token to confirm with."""

    permission_classes = [has_right(Right.GRADES_ENTER)]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        class_id = serializers.IntegerField()
        file = serializers.FileField()

    class OutputSerializer(serializers.Serializer):
        class_name = serializers.CharField()
        term_label = serializers.CharField()
        courses = serializers.ListField(child=serializers.CharField())
        students = serializers.IntegerField()
        marks = serializers.IntegerField()
        skipped_blank = serializers.IntegerField()
        # "errors" is a Serializer attribute, hence the name.
        problems = MarksImportError(many=True, help_text="检查发现的问题，逐行逐列")
        token = serializers.CharField(help_text="确认导入时提交；有错误时为空")

    @extend_schema(
        request=InputSerializer, responses=OutputSerializer, summary="上传成绩文件并检查"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        class_id = data.validated_data["class_id"]
        if class_id not in {c.school_class_id for c in imports.import_cells(user=request.user)}:
            raise NotFound()
        upload = data.validated_data["file"]
        try:
            report = imports.dry_run(
                user=request.user, class_id=class_id, filename=upload.name or "", data=upload.read()
            )
        except UploadRejected as exc:
            raise ApplicationError(exc.message, code="invalid") from exc
        return Response(
            {
                "class_name": report.class_name,
                "term_label": report.term_label,
                "courses": report.courses,
                "students": report.students,
                "marks": report.marks,
                "skipped_blank": report.skipped_blank,
                "problems": [e.__dict__ for e in report.errors],
                "token": report.token,
            }
        )


class MarksImportConfirmApi(APIView):
    permission_classes = [has_right(Right.GRADES_ENTER)]

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField()

    class OutputSerializer(serializers.Serializer):
        class_name = serializers.CharField()
        saved = serializers.IntegerField()
        unchanged = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="确认导入成绩")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = imports.confirm(
            user=request.user, token=data.validated_data["token"], request=request
        )
        return Response(self.OutputSerializer(done).data)
