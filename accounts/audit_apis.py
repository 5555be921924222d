"""GET /api/v1/audit-log/ on both hosts: the same filters as the 审计日志 page, paginated."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import ACTIONS
from accounts.audit_selectors import AuditFilters, AuditLog
from accounts.audit_views import bureau_log, school_log
from accounts.roles import Right
from common.permissions import has_right
from common.schema import paginated

FILTER_PARAMETERS = [
    OpenApiParameter("user", str, description="用户名或姓名（包含）"),
    OpenApiParameter(
        "action", str, description="操作：" + "、".join(ACTIONS) + "；read 表示全部敏感查看"
    ),
    OpenApiParameter("date_from", str, description="起始日期 YYYY-MM-DD（含）"),
    OpenApiParameter("date_to", str, description="截止日期 YYYY-MM-DD（含）"),
    OpenApiParameter("q", str, description="对象（名称、编号、类型或路径，包含）"),
    OpenApiParameter("page", int),
]


class AuditEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    username = serializers.CharField()
    user_display = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    school = serializers.CharField(help_text="所在学校的数据库模式名；public 为教育局与平台")
    school_name = serializers.CharField()
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    before = serializers.DictField(help_text="修改前的值（身份证件号、电话已隐去部分）")
    after = serializers.DictField(help_text="修改后的值（身份证件号、电话已隐去部分）")
    method = serializers.CharField()
    path = serializers.CharField()
    status = serializers.IntegerField(allow_null=True)


def _paginated(request: Request, view: APIView, log: AuditLog) -> Response:
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(log, request, view=view)  # type: ignore[arg-type,var-annotated]
    return paginator.get_paginated_response(AuditEntryOutput(page, many=True).data)


class SchoolAuditLogApi(APIView):
    """The school's own audit log (school administrators, on the school's host)."""

    permission_classes = [has_right(Right.USERS_MANAGE)]

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=paginated(AuditEntryOutput, "PaginatedAuditEntryList"),
        operation_id="v1_audit_log_list",
        summary="本校审计日志",
    )
    def get(self, request: Request) -> Response:
        filters = AuditFilters.from_params(request.query_params)
        return _paginated(request, self, school_log(request, filters))


class BureauAuditLogApi(APIView):
    """A governed school's audit log (`school_id`), or the bureau's own entries."""

    permission_classes = [has_right(Right.BUREAU_SCHOOLS_VIEW)]

    @extend_schema(
        parameters=[
            OpenApiParameter("school_id", int, description="辖区学校；不填为教育局自身的记录"),
            *FILTER_PARAMETERS,
        ],
        responses=paginated(AuditEntryOutput, "PaginatedAuditEntryList"),
        operation_id="v1_audit_log_list",
        summary="审计日志（辖区学校或本局）",
    )
    def get(self, request: Request) -> Response:
        filters = AuditFilters.from_params(request.query_params)
        log, _school = bureau_log(request, request.query_params, filters)
        return _paginated(request, self, log)
