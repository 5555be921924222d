"""综合查询 API: run a definition and page through its results, export them, and the
user's saved queries. The same rules as the pages: the reader's class scope, masked ID
numbers and phones (in full only in an export the reader may and asks for), every export
in the audit log."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.reauth import STUDENT_EXPORT, sensitive
from common.exceptions import ApplicationError
from common.permissions import has_right
from tenant_apps.registry.policy import rules as policy
from tenant_apps.reports.models import SavedQuery
from tenant_apps.reports.query import services
from tenant_apps.reports.query.definition import (
    COLUMNS,
    FIELDS,
    Choices,
    Definition,
    DefinitionError,
    from_json,
    validate,
)
from tenant_apps.reports.query.exports import EXPORT_RIGHTS, query_export
from tenant_apps.reports.query.selectors import (
    query_choices,
    query_page_students,
    query_rows,
    query_students,
    saved_query_get,
    saved_query_list,
)
from tenant_apps.reports.query.views import PAGE_SIZE, QUERY_RIGHTS, XLSX


class ConditionSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="字段，如 s.sex、m.relation、line、history、marks")
    op = serializers.CharField(help_text="比较方式，见 GET fields 的 ops")
    values = serializers.ListField(child=serializers.CharField(), required=False)
    low = serializers.CharField(required=False, allow_blank=True)
    high = serializers.CharField(required=False, allow_blank=True)
    course = serializers.CharField(required=False, allow_blank=True)
    term = serializers.CharField(required=False, allow_blank=True, help_text="如 2025-2026-1")


class DefinitionSerializer(serializers.Serializer):
    conditions = ConditionSerializer(many=True, required=False)
    match = serializers.ChoiceField(choices=["all", "any"], required=False, default="all")
    columns = serializers.ListField(child=serializers.CharField(), required=False)
    sort = serializers.CharField(required=False, allow_blank=True)
    desc = serializers.BooleanField(required=False, default=False)


def _checked(request: Request, data: Any) -> tuple[Definition, Choices]:
    """A checked definition with the choices it was checked against, or a 400 naming
    what is wrong (never a 500)."""
    choices = query_choices(scope=policy.student_scope(request.user))
    try:
        return validate(from_json(data), choices), choices
    except DefinitionError as exc:
        raise ApplicationError(
            exc.messages[0], code="invalid", extra={"definition": exc.messages}
        ) from None


def _definition(request: Request, data: Any) -> Definition:
    return _checked(request, data)[0]


def _body_definition(request: Request) -> Any:
    body = request.data
    return body.get("definition", {}) if isinstance(body, dict) else None


class QueryRunApi(APIView):
    """POST a definition: one page (30 rows) of the students it finds, in its columns."""

    permission_classes = [has_right(QUERY_RIGHTS, write=QUERY_RIGHTS)]

    class InputSerializer(serializers.Serializer):
        definition = DefinitionSerializer()
        page = serializers.IntegerField(min_value=1, required=False, default=1)

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        page = serializers.IntegerField()
        pages = serializers.IntegerField()
        columns = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
        results = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="综合查询：按定义查询学生（分页，每页30人）",
        operation_id="v1_reports_query_run",
    )
    def post(self, request: Request) -> Response:
        definition, choices = _checked(request, _body_definition(request))
        raw_page = request.data.get("page", 1) if isinstance(request.data, dict) else 1
        page = raw_page if isinstance(raw_page, int) and raw_page >= 1 else 1
        qs = query_students(definition, scope=policy.student_scope(request.user), choices=choices)
        count = qs.count()
        pages = max(1, -(-count // PAGE_SIZE))
        if page > pages:
            raise NotFound()
        start = (page - 1) * PAGE_SIZE
        students = query_page_students(qs, definition.columns)[start : start + PAGE_SIZE]
        return Response(
            {
                "count": count,
                "page": page,
                "pages": pages,
                "columns": [{"key": k, "label": COLUMNS[k].label} for k in definition.columns],
                "results": query_rows(students, definition.columns),
            }
        )


class QueryFieldsApi(APIView):
    """What a definition may name: the fields with their operators and choices, and the
    result columns."""

    permission_classes = [has_right(QUERY_RIGHTS)]

    class OutputSerializer(serializers.Serializer):
        fields = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]
        columns = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, summary="综合查询：可用字段与列")
    def get(self, request: Request) -> Response:
        choices = query_choices(scope=policy.student_scope(request.user))
        return Response(
            {
                "fields": [
                    {
                        "key": f.key,
                        "label": f.label,
                        "widget": f.widget,
                        "ops": [{"op": op, "label": label} for op, label in f.ops],
                        "choices": [{"value": v, "label": lbl} for v, lbl in choices.of(f)],
                    }
                    for f in FIELDS.values()
                ],
                "columns": [
                    {"key": c.key, "label": c.label, "sortable": bool(c.sort_path)}
                    for c in COLUMNS.values()
                ],
            }
        )


@sensitive(STUDENT_EXPORT)
class QueryExportApi(APIView):
    """POST a definition: every row it finds as .xlsx, audited. `full: true` shows ID
    numbers and phones in full for a reader with 查看学籍/查看本班学籍."""

    permission_classes = [has_right(EXPORT_RIGHTS, write=EXPORT_RIGHTS)]

    class InputSerializer(serializers.Serializer):
        definition = DefinitionSerializer()
        full = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        request=InputSerializer, responses={(200, XLSX): bytes}, summary="综合查询：导出Excel"
    )
    def post(self, request: Request) -> HttpResponse:
        definition, choices = _checked(request, _body_definition(request))
        full = isinstance(request.data, dict) and request.data.get("full") is True
        qs = query_students(definition, scope=policy.student_scope(request.user), choices=choices)
        data, _rows = query_export(qs, definition, request=request, full=full)
        response = HttpResponse(data, content_type=XLSX)
        response["Content-Disposition"] = 'attachment; filename="query.xlsx"'
        return response


class SavedQueryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    definition = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _owner(request: Request) -> str:
    return str(request.user.get_username())


class SavedQueryListApi(APIView):
    permission_classes = [has_right(QUERY_RIGHTS, write=QUERY_RIGHTS)]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=60)
        definition = DefinitionSerializer()

    @extend_schema(
        responses=SavedQueryOutput(many=True),
        summary="我保存的查询",
        operation_id="v1_reports_query_saved_list",
    )
    def get(self, request: Request) -> Response:
        return Response(SavedQueryOutput(saved_query_list(owner=_owner(request)), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: SavedQueryOutput}, summary="保存查询")
    def post(self, request: Request) -> Response:
        definition = _definition(request, _body_definition(request))
        name = request.data.get("name", "") if isinstance(request.data, dict) else ""
        saved = services.saved_query_create(
            owner=_owner(request), name=str(name), definition=definition
        )
        return Response(SavedQueryOutput(saved).data, status=status.HTTP_201_CREATED)


class SavedQueryDetailApi(APIView):
    permission_classes = [has_right(QUERY_RIGHTS, write=QUERY_RIGHTS)]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=60, required=False)
        definition = DefinitionSerializer(required=False)

    def _get(self, request: Request, query_id: Any) -> SavedQuery:
        saved = saved_query_get(owner=_owner(request), query_id=query_id)
        if saved is None:
            raise NotFound()
        return saved

    @extend_schema(responses=SavedQueryOutput, summary="保存的查询")
    def get(self, request: Request, query_id: Any) -> Response:
        return Response(SavedQueryOutput(self._get(request, query_id)).data)

    @extend_schema(request=InputSerializer, responses=SavedQueryOutput, summary="重命名或修改")
    def patch(self, request: Request, query_id: Any) -> Response:
        # The body first: a malformed one is a 400 whoever owns the query (common.parsers).
        body = request.data if isinstance(request.data, dict) else {}
        self._get(request, query_id)
        definition = _definition(request, body["definition"]) if "definition" in body else None
        name = str(body["name"]) if "name" in body else None
        saved = services.saved_query_update(
            owner=_owner(request), query_id=query_id, name=name, definition=definition
        )
        return Response(SavedQueryOutput(saved).data)

    @extend_schema(responses={204: None}, summary="删除保存的查询")
    def delete(self, request: Request, query_id: Any) -> Response:
        self._get(request, query_id)
        services.saved_query_delete(owner=_owner(request), query_id=query_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
