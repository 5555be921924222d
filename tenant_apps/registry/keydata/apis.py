"""API of 关键数据变更, the same operations and the same masking as the pages
(registry.keydata.views): apply with proof, list, one application with its chain and
proof, the school decision and withdrawal. The county decides on the bureau host."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.parsers import ObjectJSONParser
from common.permissions import has_right
from common.schema import ErrorResponse, paginated
from tenant_apps.registry.changes.apis import (
    CaseStepsOutput,
    EvidenceListOutput,
    evidence_body,
    steps_body,
)
from tenant_apps.registry.changes.services import MAX_EVIDENCE_BYTES, Upload, actors_of
from tenant_apps.registry.fields import BY_KEY
from tenant_apps.registry.keydata import selectors
from tenant_apps.registry.keydata import services as keydata
from tenant_apps.registry.models import KeyDataChange
from tenant_apps.registry.students.selectors import student_get

MSG_NOT_KEY = "{fields} 不是关键数据字段：其他字段请通过学生信息修改直接修改。"

KeyDataValue = inline_serializer(
    "KeyDataValue",
    {
        "field": serializers.CharField(),
        "label": serializers.CharField(),
        "old": serializers.CharField(),
        "new": serializers.CharField(),
    },
    many=True,
)


class KeyDataOutput(serializers.Serializer):
    id = serializers.IntegerField()
    case_id = serializers.UUIDField(allow_null=True)
    case_number = serializers.CharField()
    student_id = serializers.UUIDField(source="student.identifier")
    student_name = serializers.CharField(source="student.name")
    class_name = serializers.CharField(source="student.school_class.name")
    values = serializers.SerializerMethodField()
    reason = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    close_reason = serializers.CharField()

    @extend_schema_field(KeyDataValue)
    def get_values(self, change: KeyDataChange) -> list[dict[str, str]]:
        # As the detail page shows them: codes as labels, ID numbers masked.
        return [
            {
                "field": k,
                "label": BY_KEY[k].header if k in BY_KEY else k,
                "old": keydata.shown(k, old, school=True),
                "new": keydata.shown(k, new, school=True),
            }
            for k, (old, new) in change.values.items()
        ]


class KeyDataDetailOutput(KeyDataOutput):
    """GET /api/v1/key-data-changes/<id>/: the view adds these keys to KeyDataOutput."""

    steps = CaseStepsOutput
    evidence = EvidenceListOutput


def _change(change_id: int) -> KeyDataChange:
    change = selectors.keydata_get(change_id)
    if change is None:
        raise NotFound()
    return change


class KeyDataListCreateApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_VIEW, write=Right.REGISTRY_EDIT)]
    parser_classes = [MultiPartParser, FormParser, ObjectJSONParser]

    class InputSerializer(serializers.Serializer):
        student_id = serializers.UUIDField()
        reason = serializers.CharField(max_length=500)
        values = serializers.DictField(
            child=serializers.CharField(allow_blank=True),
            help_text='要变更的关键字段及新值，如 {"name": "张三"}；日期为 YYYYMMDD',
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=KeyDataChange.State.values),
            OpenApiParameter("q", str, description="姓名、拼音首字母、全国学籍号或业务编号"),
            OpenApiParameter("page", int),
        ],
        responses=paginated(KeyDataOutput, "PaginatedKeyDataList"),
        summary="关键数据变更列表",
        operation_id="v1_key_data_changes_list",
    )
    def get(self, request: Request) -> Response:
        state = request.query_params.get("state", "")
        qs = selectors.keydata_list(
            state=state if state in KeyDataChange.State.values else "",
            search=request.query_params.get("q", "").strip(),
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(KeyDataOutput(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: KeyDataOutput, 404: ErrorResponse},  # 404: no such student
        summary="申请关键数据变更（附证明材料 files，JPG/PNG/PDF，每个≤2MB）",
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        raw: dict[str, Any] = {
            "student_id": body.get("student_id"),
            "reason": body.get("reason", ""),
            "values": _values(body),
        }
        data = self.InputSerializer(data=raw)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        other = sorted(set(v["values"]) - set(keydata.key_fields()))
        if other:
            # The page offers key fields only; here a stray key would be dropped unseen.
            message = MSG_NOT_KEY.format(fields=keydata.field_labels(other))
            raise ApplicationError(message, code="invalid", extra={"values": [message]})
        student = student_get(identifier=str(v["student_id"]))
        if student is None:
            raise NotFound()
        change = keydata.keydata_submit(
            student_id=student.pk,
            values={k: str(value).strip() for k, value in v["values"].items()},
            reason=v["reason"],
            uploads=[
                Upload(name=f.name or "evidence", data=f.read(MAX_EVIDENCE_BYTES + 1))
                for f in request.FILES.getlist("files")
            ],
            actor=Actor.of(request.user),
        )
        return Response(KeyDataOutput(_change(change.pk)).data, status=status.HTTP_201_CREATED)


def _body(request: Request) -> Mapping[str, Any]:
    # ObjectJSONParser refuses anything but an object; forms are QueryDicts.
    return cast("Mapping[str, Any]", request.data)


def _values(body: Mapping[str, Any]) -> Any:
    """The new values: a JSON object, or (multipart, where nesting has no syntax) one form
    field per key field, named as the field (name=张三&id_number=...)."""
    given = body.get("values")
    if isinstance(given, dict):
        return given
    if isinstance(given, str) and given.strip().startswith("{"):
        try:
            return json.loads(given)
        except ValueError:
            return given
    return {k: body[k] for k in keydata.key_fields() if k in body}


class KeyDataDetailApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_VIEW)]

    @extend_schema(
        responses={200: KeyDataDetailOutput, 404: ErrorResponse},
        summary="关键数据变更详情（含审批流程与证明材料）",
    )
    def get(self, request: Request, keydata_id: int) -> Response:
        from shared_apps.transfers.models import Case

        change = _change(keydata_id)
        body = dict(KeyDataOutput(change).data)
        case = (
            Case.objects.prefetch_related("steps").filter(pk=change.case_id).first()
            if change.case_id
            else None
        )
        body["steps"] = steps_body(case)
        body["evidence"] = evidence_body(change.evidence.all())
        return Response(body)


class KeyDataDecisionApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_APPROVE)]

    class InputSerializer(serializers.Serializer):
        approve = serializers.BooleanField()
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    @extend_schema(
        request=InputSerializer,
        responses={200: KeyDataOutput, 404: ErrorResponse},
        summary="关键数据变更学校审核：通过（报送教育局）或退回",
    )
    def post(self, request: Request, keydata_id: int) -> Response:
        _change(keydata_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        keydata.keydata_school_decide(
            change_id=keydata_id,
            approve=data.validated_data["approve"],
            reason=data.validated_data["reason"].strip(),
            **actors_of(request.user),
        )
        return Response(KeyDataOutput(_change(keydata_id)).data)


class KeyDataWithdrawApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=300)

    @extend_schema(
        request=InputSerializer,
        responses={200: KeyDataOutput, 404: ErrorResponse},
        summary="撤回关键数据变更申请",
    )
    def post(self, request: Request, keydata_id: int) -> Response:
        _change(keydata_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        keydata.keydata_withdraw(
            change_id=keydata_id,
            reason=data.validated_data["reason"].strip(),
            **actors_of(request.user),
        )
        return Response(KeyDataOutput(_change(keydata_id)).data)
