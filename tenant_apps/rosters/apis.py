"""The staging area's API: /api/v1/rosters/ (upload, mapping, rows, promote). Thin: each
write is one rosters.services call; the same right as the pages (数据导入导出). ID numbers
and phones are masked in every answer, as in the lists."""

from __future__ import annotations

from typing import Any

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
from common.parsers import ObjectJSONParser
from common.permissions import has_right
from common.schema import paginated
from tenant_apps.rosters import selectors, services
from tenant_apps.rosters.headers import TARGETS
from tenant_apps.rosters.models import RosterSource, RosterUpload, StagedRow
from tenant_apps.rosters.selectors import cell_shown as _shown
from tenant_apps.rosters.views import MAX_UPLOAD_BYTES

MSG_TOO_BIG = "文件超过20MB，请拆分后分批上传。"


class UploadOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(source="source.kind")
    filename = serializers.CharField()
    created_at = serializers.DateTimeField()
    header_row = serializers.IntegerField()
    headers = serializers.ListField(child=serializers.CharField(allow_blank=True))
    mapping = serializers.SerializerMethodField()
    notes = serializers.ListField(child=serializers.CharField())
    total = serializers.SerializerMethodField()
    ready = serializers.SerializerMethodField()
    states = serializers.SerializerMethodField()

    def get_mapping(self, u: RosterUpload) -> list[str]:
        return list(u.counts.get("mapping") or [])

    def get_total(self, u: RosterUpload) -> int:
        return int(u.counts.get("total") or 0)

    def get_ready(self, u: RosterUpload) -> int:
        return int(u.counts.get("ready") or 0)

    def get_states(self, u: RosterUpload) -> dict[str, int]:
        return {k: int(v) for k, v in (u.counts.get("states") or {}).items()}


class RowError(serializers.Serializer):
    key = serializers.CharField()
    header = serializers.CharField()
    value = serializers.CharField(allow_blank=True)
    message = serializers.CharField()
    kind = serializers.CharField()


class RowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    row_no = serializers.IntegerField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    note = serializers.CharField()
    grade_text = serializers.CharField()
    class_text = serializers.CharField()
    cells = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()  # type: ignore[assignment]
    normalised = serializers.SerializerMethodField()

    def get_cells(self, r: StagedRow) -> dict[str, str]:
        return {k: _shown(k, v) for k, v in r.cells.items()}

    def get_errors(self, r: StagedRow) -> list[dict[str, Any]]:
        return [e | {"value": _shown(str(e["key"]), e.get("value"))} for e in r.errors]

    def get_normalised(self, r: StagedRow) -> list[dict[str, Any]]:
        return [
            n | {"before": _shown(n["key"], n["before"]), "after": _shown(n["key"], n["after"])}
            for n in r.normalised
        ]


def _upload(upload_id: object) -> RosterUpload:
    upload = selectors.upload_get(upload_id)
    if upload is None:
        raise NotFound()
    return upload


class UploadListApi(APIView):
    """The school's staged rosters of a source (`kind`, default nutrition); POST stages
    a roster file (multipart `file`)."""

    permission_classes = [has_right(Right.DATA_MANAGE)]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        # The teacher-training export has its pages only (教师信息管理's right).
        kind = serializers.ChoiceField(
            choices=[c for c in RosterSource.Kind.choices if c[0] != RosterSource.Kind.TEACHERS],
            default=RosterSource.Kind.NUTRITION,
        )

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, description="名册来源：nutrition 等")],
        responses=UploadOutput(many=True),
        summary="已上传的外部名册",
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind", RosterSource.Kind.NUTRITION)
        if kind == RosterSource.Kind.TEACHERS:
            kind = ""  # not through this answer (its own pages and right)
        return Response(UploadOutput(selectors.upload_list(kind)[:50], many=True).data)

    @extend_schema(request=InputSerializer, responses={201: UploadOutput}, summary="上传名册")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        file = data.validated_data["file"]
        if file.size and file.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError({"file": [MSG_TOO_BIG]})
        upload = services.upload_stage(
            kind=data.validated_data["kind"],
            filename=file.name or "upload",
            data=file.read(),
            actor=Actor.of(request.user),
        )
        return Response(UploadOutput(_upload(upload.pk)).data, status=status.HTTP_201_CREATED)


class UploadDetailApi(APIView):
    permission_classes = [has_right(Right.DATA_MANAGE)]

    @extend_schema(responses=UploadOutput, summary="名册概况")
    def get(self, request: Request, upload_id: object) -> Response:
        return Response(UploadOutput(_upload(upload_id)).data)


class MappingApi(APIView):
    """Which registry field each roster column fills (`mapping`, one key or "" per
    column; the keys are `targets`) and fixed values for empty cells (`defaults`)."""

    permission_classes = [has_right(Right.DATA_MANAGE)]
    parser_classes = [ObjectJSONParser]

    class InputSerializer(serializers.Serializer):
        mapping = serializers.ListField(child=serializers.CharField(allow_blank=True))
        defaults = serializers.DictField(
            child=serializers.CharField(allow_blank=True), default=dict
        )

    class OutputSerializer(serializers.Serializer):
        headers = serializers.ListField(child=serializers.CharField(allow_blank=True))
        mapping = serializers.ListField(child=serializers.CharField(allow_blank=True))
        defaults = serializers.DictField(child=serializers.CharField())
        targets = serializers.DictField(child=serializers.CharField())

    def _out(self, upload: RosterUpload) -> dict[str, Any]:
        return {
            "headers": upload.headers,
            "mapping": upload.counts.get("mapping") or [],
            "defaults": upload.source.defaults,
            "targets": TARGETS,
        }

    @extend_schema(responses=OutputSerializer, summary="名册列对应")
    def get(self, request: Request, upload_id: object) -> Response:
        return Response(self.OutputSerializer(self._out(_upload(upload_id))).data)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="保存列对应")
    def put(self, request: Request, upload_id: object) -> Response:
        upload = _upload(upload_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.mapping_save(
            upload_id=str(upload.pk),
            mapping=data.validated_data["mapping"],
            defaults=data.validated_data["defaults"],
            actor=Actor.of(request.user),
            request=request,
        )
        return Response(self.OutputSerializer(self._out(_upload(upload_id))).data)


class RowListApi(APIView):
    """The staged rows (`state`: problem, ready, promoted, already, repeated, blocked,
    invalid or all), paged."""

    permission_classes = [has_right(Right.DATA_MANAGE)]

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, description="行状态；problem 为待处理"),
            OpenApiParameter("page", int),
        ],
        operation_id="v1_rosters_rows_list",
        responses=paginated(RowOutput, "PaginatedRosterRowList"),
        summary="名册的行",
    )
    def get(self, request: Request, upload_id: object) -> Response:
        upload = _upload(upload_id)
        rows = selectors.rows_of(upload, request.query_params.get("state", ""))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(RowOutput(page, many=True).data)


class RowDetailApi(APIView):
    """One staged row; PATCH corrects it ({field key: text}), then it is checked again."""

    permission_classes = [has_right(Right.DATA_MANAGE)]
    parser_classes = [ObjectJSONParser]

    class InputSerializer(serializers.Serializer):
        values = serializers.DictField(child=serializers.CharField(allow_blank=True))

    def _row(self, upload_id: object, row_id: int) -> StagedRow:
        row = selectors.row_get(_upload(upload_id), row_id)
        if row is None:
            raise NotFound()
        return row

    @extend_schema(responses=RowOutput, summary="名册的一行")
    def get(self, request: Request, upload_id: object, row_id: int) -> Response:
        return Response(RowOutput(self._row(upload_id, row_id)).data)

    @extend_schema(request=InputSerializer, responses=RowOutput, summary="改正名册的一行")
    def patch(self, request: Request, upload_id: object, row_id: int) -> Response:
        row = self._row(upload_id, row_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unknown = [k for k in data.validated_data["values"] if k not in TARGETS]
        if unknown:
            raise serializers.ValidationError({"values": ["含有无法识别的学籍字段。"]})
        row = services.row_update(
            row_id=row.pk,
            values=data.validated_data["values"],
            actor=Actor.of(request.user),
            request=request,
        )
        return Response(RowOutput(row).data)


class PromoteApi(APIView):
    """全部转学籍系统: every ready row through the student import's own 查重 and write."""

    permission_classes = [has_right(Right.DATA_MANAGE)]

    class OutputSerializer(serializers.Serializer):
        written = serializers.IntegerField()
        suspected = serializers.IntegerField()
        blocked = serializers.IntegerField()
        not_ready = serializers.IntegerField()

    @extend_schema(request=None, responses=OutputSerializer, summary="全部转学籍系统")
    def post(self, request: Request, upload_id: object) -> Response:
        upload = _upload(upload_id)
        result = services.promote_all(
            upload_id=str(upload.pk), actor=Actor.of(request.user), request=request
        )
        return Response(
            self.OutputSerializer(
                {
                    "written": result.written,
                    "suspected": result.suspected,
                    "blocked": result.blocked,
                    "not_ready": result.not_ready,
                }
            ).data
        )
