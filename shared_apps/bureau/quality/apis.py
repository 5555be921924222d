"""数据质量 API on the bureau host, scoped like the pages (bureau.selectors.access_schools):
the ranked table, one school's list of one figure (paged, masked) and the 人籍一致
deadlines."""

from __future__ import annotations

import math

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.permissions import has_right
from common.schema import paginated
from shared_apps.bureau.quality.selectors import (
    quality_list,
    quality_ranking,
    roster_deadlines,
)
from shared_apps.bureau.quality.services import roster_deadline_set
from shared_apps.bureau.selectors import access_school
from tenant_apps.registry.facade import AGE_BANDS, FIGURE_BY_KEY

API_PAGE_SIZE = 50


class FigureOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField(source="label")
    unit = serializers.CharField()
    count = serializers.IntegerField()
    oldest_at = serializers.DateTimeField(allow_null=True)
    oldest_days = serializers.IntegerField(allow_null=True)
    bands = serializers.ListField(child=serializers.IntegerField())


class SchoolQualityOutput(serializers.Serializer):
    school_id = serializers.IntegerField()
    school_name = serializers.CharField()
    county_name = serializers.CharField()
    score = serializers.IntegerField()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    figures = FigureOutput(many=True)


class QualityListApi(APIView):
    """Every school of the officer's region, ranked by how much needs doing, with each
    figure (count, oldest item, counts per age band: 0–7, 8–30, 31+ days)."""

    permission_classes = [has_right(Right.BUREAU_SCHOOLS_VIEW)]

    @extend_schema(
        responses=SchoolQualityOutput(many=True),
        summary="数据质量：辖区学校排名",
        description="age bands: " + ", ".join(b[0] for b in AGE_BANDS),
    )
    def get(self, request: Request) -> Response:
        rows = quality_ranking(user=request.user)  # type: ignore[arg-type]
        return Response(SchoolQualityOutput(rows, many=True).data)


class QualityItemOutput(serializers.Serializer):
    ref = serializers.CharField(
        help_text="the record's identifier, a case number or a class number"
    )
    name = serializers.CharField(help_text="masked")
    class_name = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    age_days = serializers.IntegerField(allow_null=True)
    detail = serializers.CharField()


class QualityItemsApi(APIView):
    """One figure's list in one school of the officer's region (masked, oldest first for
    aged figures), 50 a page."""

    permission_classes = [has_right(Right.BUREAU_SCHOOLS_VIEW)]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "figure",
                str,
                OpenApiParameter.PATH,
                enum=list(FIGURE_BY_KEY),
                description="; ".join(f"{f.key}: {f.label}" for f in FIGURE_BY_KEY.values()),
            ),
            OpenApiParameter("page", int),
        ],
        responses=paginated(QualityItemOutput, "PaginatedQualityItemList"),
        summary="数据质量：某校某项的名单（分页）",
    )
    def get(self, request: Request, school_id: int, figure: str) -> Response:
        school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
        if school is None or figure not in FIGURE_BY_KEY:
            raise NotFound("未找到该学校或该项指标。")
        raw = request.query_params.get("page", "1")
        number = int(raw) if raw.isdigit() and int(raw) > 0 else 1
        page = quality_list(
            school=school, figure=figure, offset=(number - 1) * API_PAGE_SIZE, limit=API_PAGE_SIZE
        )
        pages = max(1, math.ceil(page.total / API_PAGE_SIZE))
        base = request.build_absolute_uri(request.path)
        return Response(
            {
                "count": page.total,
                "next": f"{base}?page={number + 1}" if number < pages else None,
                "previous": f"{base}?page={number - 1}" if 1 < number <= pages else None,
                "results": QualityItemOutput(page.items, many=True).data,
            }
        )


class DeadlineOutput(serializers.Serializer):
    county = serializers.CharField(source="county_id")
    county_name = serializers.CharField(source="county.name")
    school_year = serializers.CharField()
    term = serializers.IntegerField()
    deadline = serializers.DateField()


class RosterDeadlineApi(APIView):
    """人籍一致 deadlines of the officer's counties; officers who manage schools set one."""

    permission_classes = [has_right(Right.BUREAU_SCHOOLS_VIEW, write=Right.BUREAU_SCHOOLS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        county = serializers.CharField(max_length=12, help_text="6-digit county code")
        term = serializers.CharField(max_length=12, help_text='e.g. "2026-2027-1"')
        deadline = serializers.DateField()

    @extend_schema(responses=DeadlineOutput(many=True), summary="人籍一致截止日期")
    def get(self, request: Request) -> Response:
        rows = roster_deadlines(user=request.user)  # type: ignore[arg-type]
        return Response(DeadlineOutput(rows, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={200: DeadlineOutput},
        summary="设置人籍一致截止日期",
        description='term: "<school year>-<1|2>", this term or the next (e.g. "2026-2027-1")',
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = roster_deadline_set(
            user=request.user,  # type: ignore[arg-type]
            county_code=data.validated_data["county"],
            term_value=data.validated_data["term"],
            deadline=data.validated_data["deadline"],
        )
        return Response(DeadlineOutput(row).data, status=status.HTTP_200_OK)
