"""The dashboard's API (bureau host): every table of every drill level, the same numbers
as the pages from the same selectors, scoped the same way (a scope that is not the
caller's is 404), and a governed school's 查询统计 tables, read-only."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.permissions import has_right
from common.schema import ErrorResponse
from shared_apps.bureau.dashboard import selectors
from shared_apps.bureau.dashboard.views import RIGHT, _date, scope_from_query
from tenant_apps.reports import facade as reports_facade


@extend_schema_field({"anyOf": [{"type": "number"}, {"type": "string"}]})
class ValueField(serializers.Field):
    """A count (integer), or a text cell (the county column of 按学校), or null for a
    month without a snapshot."""

    def to_representation(self, value: Any) -> Any:
        return value


class DashboardRowOutput(serializers.Serializer):
    item = serializers.CharField()
    values = serializers.ListField(child=ValueField(allow_null=True))


class DashboardTableOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    scope = serializers.CharField(help_text="统计范围名称（地区、县、乡镇、学校或年级）")
    level = serializers.ChoiceField(choices=["region", "county", "township", "school", "grade"])
    as_of = serializers.DateField()
    note = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = DashboardRowOutput(many=True)


class SchoolStatsRowOutput(serializers.Serializer):
    item = serializers.CharField()
    values = serializers.ListField(child=serializers.FloatField(allow_null=True))


class SchoolStatsTableOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    school = serializers.CharField()
    as_of = serializers.DateField(allow_null=True)
    basis = serializers.ChoiceField(choices=["live", "snapshot", "none"])
    note = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = SchoolStatsRowOutput(many=True)


SCOPE_PARAMETERS = [
    OpenApiParameter(
        "county", str, description="县级区划代码前6位，如 430181（与乡镇、学校三选一）"
    ),
    OpenApiParameter("township", str, description="乡级区划代码前9位，如 430181001"),
    OpenApiParameter("school", int, description="学校（辖区学校列表中的 id）"),
    OpenApiParameter(
        "stage", str, description="学段 primary/junior/senior（与 school、entry_year 一起：班级）"
    ),
    OpenApiParameter("entry_year", int, description="入学年份，如 2024"),
]
TABLE_KEYS = [*selectors.BUILDERS, "classes"]


def _table_api(key: str) -> type[APIView]:
    class DashboardTableApi(APIView):
        permission_classes = [has_right(RIGHT)]

        @extend_schema(
            # 404: a scope outside the officer's region, or a table its level lacks
            responses={200: DashboardTableOutput, 404: ErrorResponse},
            parameters=SCOPE_PARAMETERS,
            summary=f"统计看板：{selectors.TABLE_TITLES[key]}（与页面同一口径、同一范围）",
            operation_id=f"v1_dashboard_{key}",
        )
        def get(self, request: Request) -> Response:
            scope = scope_from_query(request.user, request.query_params)  # type: ignore[arg-type]
            if scope is None:
                raise NotFound()
            table = selectors.one_table(scope, key)
            if table is None:
                raise NotFound("该统计范围没有这张表。")
            # Already plain JSON values in the documented shape (DashboardTableOutput):
            # run through the serializer, 5,000 school rows of a province took ~150 ms.
            data = {
                "key": table.key,
                "title": table.title,
                "scope": scope.title,
                "level": scope.level,
                "as_of": timezone.localdate().isoformat(),
                "note": table.note,
                "columns": table.columns,
                "rows": [{"item": r.label, "values": r.values} for r in table.rows],
            }
            return Response(data)

    DashboardTableApi.__name__ = f"DashboardTableApi_{key}"
    DashboardTableApi.__qualname__ = DashboardTableApi.__name__
    return DashboardTableApi


class SchoolStatsApi(APIView):
    permission_classes = [has_right(RIGHT)]

    @extend_schema(
        responses={200: SchoolStatsTableOutput, 404: ErrorResponse},  # not the officer's school
        parameters=[
            OpenApiParameter("date", str, description="统计日期 YYYY-MM-DD（默认今天）"),
            OpenApiParameter("start", str, description="起始日期 YYYY-MM-DD"),
            OpenApiParameter("end", str, description="截止日期 YYYY-MM-DD"),
        ],
        summary="辖区学校的查询统计（只读，仅人数）",
        operation_id="v1_dashboard_school_stats",
    )
    def get(self, request: Request, school_id: int, table: str) -> Response:
        scope = selectors.scope_for(request.user, school_id=school_id)  # type: ignore[arg-type]
        if scope is None or scope.school is None:
            raise NotFound()
        q = request.query_params
        result = reports_facade.stats_table(
            schema_name=scope.school.schema_name,
            key=table,
            date=_date(q.get("date")),
            start=_date(q.get("start")),
            end=_date(q.get("end")),
        )
        if result is None:
            raise NotFound()
        data = {
            "key": result.key,
            "title": result.title,
            "school": scope.school.name,
            "as_of": result.as_of,
            "basis": result.source,
            "note": result.note,
            "columns": list(result.columns),
            "rows": [{"item": label, "values": list(v)} for label, v in result.rows],
        }
        return Response(SchoolStatsTableOutput(data).data)


# Mounted by platform/config/urls_public.py.
api_patterns: list[URLPattern] = [
    *(
        path(f"api/v1/dashboard/{key}/", _table_api(key).as_view(), name=f"api-dashboard-{key}")
        for key in TABLE_KEYS
    ),
    path(
        "api/v1/dashboard/schools/<int:school_id>/stats/<str:table>/",
        SchoolStatsApi.as_view(),
        name="api-dashboard-school-stats",
    ),
]
