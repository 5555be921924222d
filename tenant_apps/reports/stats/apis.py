"""查询统计's API: one GET endpoint per table (api/v1/reports/stats/<table>/), the same
numbers as the page, from the same selectors and parameters."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.permissions import has_right
from tenant_apps.reports.stats import selectors
from tenant_apps.reports.stats.views import params_from


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A count (int) or a rate (float) as it is, null for "no figure"."""

    def to_representation(self, value: Any) -> Any:
        return value


class StatsRowOutput(serializers.Serializer):
    item = serializers.CharField()
    values = serializers.ListField(child=NumberField(allow_null=True))


class StatsPupilOutput(serializers.Serializer):
    name = serializers.CharField()
    class_name = serializers.CharField()
    kind = serializers.CharField()
    date = serializers.CharField()


class StatsTableOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    as_of = serializers.DateField(allow_null=True)
    basis = serializers.ChoiceField(
        choices=["live", "snapshot", "none"],
        help_text="live: today's counts; snapshot: read from the snapshot of snapshot_date; "
        "none: no snapshot on or before the date asked for",
    )
    snapshot_date = serializers.DateField(allow_null=True)
    note = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = StatsRowOutput(many=True)
    pupils = StatsPupilOutput(many=True)


PARAMETERS = {
    "date": [OpenApiParameter("date", str, description="统计日期 YYYY-MM-DD（默认今天）")],
    "grade": [
        OpenApiParameter("date", str, description="统计日期 YYYY-MM-DD（默认今天）"),
        OpenApiParameter("grade", str, description="年级名称，如 小学2024级（横向对比）"),
    ],
    "period": [
        OpenApiParameter("start", str, description="起始日期 YYYY-MM-DD（默认当年1月1日）"),
        OpenApiParameter("end", str, description="截止日期 YYYY-MM-DD（默认今天）"),
    ],
    "none": [],
}


def table_data(table: selectors.Table) -> dict[str, Any]:
    return {
        "key": table.key,
        "title": table.title,
        "as_of": table.as_of,
        "basis": table.source,
        "snapshot_date": table.snapshot_date,
        "note": table.note,
        "columns": table.columns,
        "rows": [{"item": label, "values": values} for label, values in table.rows],
        "pupils": [
            {"name": n, "class_name": c, "kind": k, "date": d} for n, c, k, d in table.pupils
        ],
    }


def _api_for(spec: selectors.TableSpec) -> type[APIView]:
    class StatsTableApi(APIView):
        permission_classes = [has_right(Right.STATS_VIEW)]

        @extend_schema(
            responses=StatsTableOutput,
            parameters=PARAMETERS[spec.asks],
            summary=spec.title,
            operation_id=f"v1_reports_stats_{spec.key}",
        )
        def get(self, request: Request) -> Response:
            table = spec.build(params_from(request.query_params))
            return Response(StatsTableOutput(table_data(table)).data)

    StatsTableApi.__name__ = f"StatsTableApi_{spec.key}"
    StatsTableApi.__qualname__ = StatsTableApi.__name__
    return StatsTableApi


API_VIEWS: dict[str, type[APIView]] = {k: _api_for(s) for k, s in selectors.TABLES.items()}

# Mounted by platform/config/urls_school.py.
urlpatterns: list[URLPattern] = [
    path(f"api/v1/reports/stats/{key}/", view.as_view(), name=f"api-reports-stats-{key}")
    for key, view in API_VIEWS.items()
]
