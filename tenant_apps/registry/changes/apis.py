"""API of in-school status changes (学籍异动), the same operations as the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
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
from tenant_apps.registry.changes import selectors
from tenant_apps.registry.changes import services as changes
from tenant_apps.registry.models import StatusChange
from tenant_apps.registry.students.selectors import student_get


class ChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    case_id = serializers.UUIDField(allow_null=True)
    case_number = serializers.CharField()
    student_id = serializers.UUIDField(source="student.identifier")
    student_name = serializers.CharField(source="student.name")
    class_name = serializers.CharField(source="student.school_class.name")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    change_date = serializers.DateField()
    reason_code = serializers.CharField()
    reason_text = serializers.CharField()
    leave_from = serializers.DateField(allow_null=True)
    leave_to = serializers.DateField(allow_null=True)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    from_class_name = serializers.SerializerMethodField()
    to_class_name = serializers.SerializerMethodField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField()
    close_reason = serializers.CharField()

    def get_from_class_name(self, change: StatusChange) -> str:
        return change.from_class.name if change.from_class else ""

    def get_to_class_name(self, change: StatusChange) -> str:
        return change.to_class.name if change.to_class else ""


# The approval chain and the proofs of a case-backed application, as the 学籍异动 and the
# 关键数据变更 APIs show them (one component each in the schema).
CaseStepsOutput = inline_serializer(
    "ChangeStep",
    {
        "label": serializers.CharField(),
        "owner": serializers.CharField(),
        "state": serializers.CharField(),
    },
    many=True,
)
EvidenceListOutput = inline_serializer(
    "ChangeEvidence",
    {
        "name": serializers.CharField(),
        "content_type": serializers.CharField(),
        "size": serializers.IntegerField(),
        "url": serializers.CharField(),
    },
    many=True,
)


def steps_body(case: Any) -> list[dict[str, str]]:
    """The chain of a public case (None: no case yet), as CaseStepsOutput."""
    from shared_apps.transfers.selectors import case_steps_view

    if case is None:
        return []
    return [{"label": s.label, "owner": s.owner, "state": s.state} for s in case_steps_view(case)]


def evidence_body(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Uploaded proofs (original name, type, size, a signed link), as EvidenceListOutput."""
    return [
        {
            "name": e.original_name,
            "content_type": e.content_type,
            "size": e.size,
            "url": default_storage.url(e.file_key),
        }
        for e in items
    ]


class ChangeDetailOutput(ChangeOutput):
    """GET /api/v1/status-changes/<id>/: the view adds these keys to ChangeOutput itself."""

    steps = CaseStepsOutput
    due_on = serializers.DateField(allow_null=True)
    evidence = EvidenceListOutput


def _change(change_id: int) -> StatusChange:
    change = selectors.change_get(change_id)
    if change is None:
        raise NotFound()
    return change


class StudentBlockersApi(APIView):
    """What stops a kind of business for one student now (shown before submitting)."""

    permission_classes = [has_right(Right.REGISTRY_VIEW)]

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, required=True, description="业务类型代码")],
        responses=inline_serializer(
            "StudentBlockers",
            {
                "kind": serializers.CharField(),
                "ok": serializers.BooleanField(),
                "blockers": inline_serializer(
                    "StudentBlocker",
                    {
                        "code": serializers.CharField(),
                        "message": serializers.CharField(),
                        "advice": serializers.CharField(),
                    },
                    many=True,
                ),
            },
        ),
        summary="办理条件检查（在办业务、问题学籍、学籍状态、冻结期）",
    )
    def get(self, request: Request, student_id: str) -> Response:
        student = student_get(identifier=student_id)
        if student is None:
            raise NotFound()
        from tenant_apps.registry.changes.blockers import REQUIRED_STATUS, student_blockers

        kind = request.query_params.get("kind", "")
        if kind not in REQUIRED_STATUS:
            raise ApplicationError(
                "未知的业务类型。", code="invalid", extra={"kind": ["请指定业务类型。"]}
            )
        blockers = student_blockers(student, kind)
        return Response(
            {"kind": kind, "ok": not blockers, "blockers": [b.as_dict() for b in blockers]}
        )


class ChangeListCreateApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_VIEW, write=Right.REGISTRY_EDIT)]
    parser_classes = [MultiPartParser, FormParser, ObjectJSONParser]

    class InputSerializer(serializers.Serializer):
        student_id = serializers.UUIDField()
        kind = serializers.ChoiceField(choices=StatusChange.Kind.choices)
        change_date = serializers.DateField(required=False, allow_null=True, default=None)
        reason_code = serializers.CharField(required=False, allow_blank=True, default="")
        reason_text = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=500
        )
        leave_from = serializers.DateField(required=False, allow_null=True, default=None)
        leave_to = serializers.DateField(required=False, allow_null=True, default=None)
        target_status = serializers.CharField(required=False, allow_blank=True, default="")
        target_class_id = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            help_text="转入班级（调班、跳级、留级、恢复入学资格必填）",
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str),
            OpenApiParameter("state", str),
            OpenApiParameter("q", str, description="姓名、拼音首字母、全国学籍号或业务编号"),
            OpenApiParameter("class_id", int),
            OpenApiParameter("from", dt.date),
            OpenApiParameter("to", dt.date),
            OpenApiParameter("page", int),
        ],
        responses=paginated(ChangeOutput, "PaginatedChangeList"),
        summary="学籍异动列表",
        operation_id="v1_status_changes_list",
    )
    def get(self, request: Request) -> Response:
        p = request.query_params

        def day(value: str | None) -> dt.date | None:
            try:
                return dt.date.fromisoformat(value) if value else None
            except ValueError:
                return None

        qs = selectors.change_list(
            kind=p.get("kind", ""),
            state=p.get("state", ""),
            search=p.get("q", ""),
            class_id=int(p["class_id"]) if p.get("class_id", "").isdigit() else None,
            date_from=day(p.get("from")),
            date_to=day(p.get("to")),
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ChangeOutput(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: ChangeOutput, 404: ErrorResponse},  # 404: no such student
        summary="申请学籍异动（附佐证，JPG/PNG/PDF，每个≤2MB）",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        student = student_get(identifier=str(v["student_id"]))
        if student is None:
            raise NotFound()
        uploads = [
            changes.Upload(name=f.name or "evidence", data=f.read(changes.MAX_EVIDENCE_BYTES + 1))
            for f in request.FILES.getlist("files")
        ]
        change = changes.change_submit(
            student_id=student.pk,
            data=changes.ChangeInput(
                kind=v["kind"],
                change_date=v["change_date"] or v["leave_from"],
                reason_code=v["reason_code"],
                reason_text=v["reason_text"],
                leave_from=v["leave_from"],
                leave_to=v["leave_to"],
                target_status=v["target_status"],
                target_class_id=v["target_class_id"],
            ),
            uploads=uploads,
            actor=Actor.of(request.user),
        )
        return Response(ChangeOutput(_change(change.pk)).data, status=status.HTTP_201_CREATED)


class ChangeDetailApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_VIEW)]

    @extend_schema(responses=ChangeDetailOutput, summary="学籍异动详情（含审核流程与佐证）")
    def get(self, request: Request, change_id: int) -> Response:
        change = _change(change_id)
        body = dict(ChangeOutput(change).data)
        case = selectors.cases_of([change]).get(change.case_id) if change.case_id else None
        body["steps"] = steps_body(case)
        body["due_on"] = case.due_on if case and case.state == "open" else None
        body["evidence"] = evidence_body(change.evidence.all())
        return Response(body)


class ChangeDecisionApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_APPROVE)]

    class InputSerializer(serializers.Serializer):
        approve = serializers.BooleanField()
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    @extend_schema(
        request=InputSerializer, responses=ChangeOutput, summary="学籍异动学校审核：通过或退回"
    )
    def post(self, request: Request, change_id: int) -> Response:
        _change(change_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes.change_school_decide(
            change_id=change_id,
            approve=data.validated_data["approve"],
            reason=data.validated_data["reason"],
            **changes.actors_of(request.user),
        )
        return Response(ChangeOutput(_change(change_id)).data)


class ChangeWithdrawApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=300)

    @extend_schema(request=InputSerializer, responses=ChangeOutput, summary="撤回学籍异动申请")
    def post(self, request: Request, change_id: int) -> Response:
        _change(change_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes.change_withdraw(
            change_id=change_id,
            reason=data.validated_data["reason"],
            **changes.actors_of(request.user),
        )
        return Response(ChangeOutput(_change(change_id)).data)
