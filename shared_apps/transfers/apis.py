"""API of business cases: the school's cases and transfers (school host) and the
bureau's queue with batch decisions (public host)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.reauth import TRANSFER_APPROVE, sensitive
from accounts.roles import Right
from common.actor import Actor
from common.permissions import has_right
from common.schema import ErrorResponse, paginated
from shared_apps.transfers import transfer
from shared_apps.transfers.lookups import api_lookup
from shared_apps.transfers.models import Case, CaseKind, CaseState
from shared_apps.transfers.selectors import (
    case_for_region,
    case_for_school,
    case_is_overdue,
    case_steps_view,
    cases_for_region,
    cases_for_school,
)
from shared_apps.transfers.services import (
    CaseActor,
    case_decide,
    case_detail_lines,
    case_withdraw,
    handed_over_collect,
)
from shared_apps.transfers.views import API_BATCH_MAX


class CaseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    school = serializers.CharField(source="school.name")
    other_school = serializers.CharField(source="other_school.name", default="")
    summary = serializers.DictField()
    step = serializers.IntegerField()
    current = serializers.DictField(allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    overdue = serializers.SerializerMethodField()
    escalated = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_overdue(self, case: Case) -> bool:
        return case_is_overdue(case)


class CaseDetailSerializer(CaseSerializer):
    chain = serializers.ListField(child=serializers.DictField())
    payload = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()

    def get_payload(self, case: Case) -> dict[str, Any]:
        # The storage key of an in-transfer's proof stays on the server.
        return {k: v for k, v in case.payload.items() if k != "evidence_key"}

    def get_steps(self, case: Case) -> list[dict[str, Any]]:
        return [
            {"index": s.index, "label": s.label, "owner": s.owner, "state": s.state}
            for s in case_steps_view(case)
        ]

    def get_history(self, case: Case) -> list[dict[str, Any]]:
        return [
            {"at": h.at, "actor": h.actor, "action": h.action, "step": h.step, "note": h.note}
            for h in case.steps.all()
        ]

    def get_lines(self, case: Case) -> list[list[str]]:
        return [list(line) for line in case_detail_lines(case)]


class DecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    step = serializers.IntegerField(required=False, allow_null=True, default=None)


def _decide(request: Request, case: Case) -> Response:
    data = DecisionSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    with handed_over_collect() as handed:
        decided = case_decide(
            case_id=case.pk,
            actor=CaseActor.of(request.user),
            approve=data.validated_data["approve"],
            reason=data.validated_data["reason"],
            step=data.validated_data["step"],
        )
    body = dict(CaseDetailSerializer(decided).data)
    if not handed:
        return Response(body)
    # Accounts the completion opened, with their initial passwords: in this answer only.
    body["handed_over"] = [
        {"label": h.label, "username": h.username, "initial_password": h.password} for h in handed
    ]
    return Response(body, headers={"Cache-Control": "no-store"})


# -- school host ------------------------------------------------------------------------


def _school_case(request: Request, case_id: object) -> Case:
    case = case_for_school(int(request.tenant.pk), str(case_id))  # type: ignore[attr-defined]
    if case is None:
        raise NotFound()
    return case


class SchoolCaseListApi(APIView):
    """Cases of this school: waiting for it, incoming, outgoing or in-school."""

    permission_classes = [has_right(Right.REGISTRY_VIEW)]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "direction", str, enum=["waiting", "incoming", "outgoing", "in_school"]
            ),
            OpenApiParameter("state", str, enum=list(CaseState.values)),
            OpenApiParameter("page", int),
        ],
        responses=paginated(CaseSerializer, "PaginatedCaseList"),
        summary="本校异动业务（分页）",
        operation_id="v1_cases_list",
    )
    def get(self, request: Request) -> Response:
        direction = request.query_params.get("direction") or None
        state = request.query_params.get("state") or None
        cases = cases_for_school(
            int(request.tenant.pk),  # type: ignore[attr-defined]
            direction=direction
            if direction in ("waiting", "incoming", "outgoing", "in_school")
            else None,
            state=state if state in CaseState.values else None,
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(cases, request, view=self)
        return paginator.get_paginated_response(CaseSerializer(page, many=True).data)


class SchoolCaseDetailApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_VIEW)]

    @extend_schema(responses=CaseDetailSerializer, summary="异动业务详情")
    def get(self, request: Request, case_id: object) -> Response:
        return Response(CaseDetailSerializer(_school_case(request, case_id)).data)


@sensitive(TRANSFER_APPROVE)
class SchoolCaseDecisionApi(APIView):
    """The school's step: approve (transfers need the password re-entered) or reject."""

    permission_classes = [has_right(Right.REGISTRY_APPROVE)]

    @extend_schema(request=DecisionSerializer, responses=CaseDetailSerializer, summary="学校审核")
    def post(self, request: Request, case_id: object) -> Response:
        return _decide(request, _school_case(request, case_id))


class SchoolCaseWithdrawApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses=CaseDetailSerializer, summary="撤回申请")
    def post(self, request: Request, case_id: object) -> Response:
        case = _school_case(request, case_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_withdraw(
            case_id=case.pk, actor=CaseActor.of(request.user), reason=data.validated_data["reason"]
        )
        return Response(CaseDetailSerializer(case).data)


class TransferLookupApi(APIView):
    """Find a student in any school of the platform; masked summaries only."""

    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
        id_number = serializers.CharField(
            max_length=30, required=False, allow_blank=True, default=""
        )
        national_number = serializers.CharField(
            max_length=19, required=False, allow_blank=True, default=""
        )

    class FoundSerializer(serializers.Serializer):
        school_id = serializers.IntegerField()
        school_name = serializers.CharField()
        student_uuid = serializers.CharField()
        name = serializers.CharField(help_text="已隐去部分")
        id_number = serializers.CharField(help_text="已隐去部分")
        status = serializers.CharField()
        grade = serializers.CharField()
        class_name = serializers.CharField()
        own_school = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "TransferLookupResults", {"results": FoundSerializer(many=True)}
            ),
            429: ErrorResponse,
        },
        summary="转学：查找学生（姓名加身份证件号或全国学籍号；每位用户限次，超出为429）",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        asked = data.validated_data
        found = api_lookup(
            request,
            kind="transfer",
            asked=asked,
            run=lambda: transfer.transfer_lookup(
                requesting_school_id=int(request.tenant.pk),  # type: ignore[attr-defined]
                **asked,
            ),
        )
        return Response({"results": [f.as_dict() for f in found]})


class TransferStartApi(APIView):
    """The receiving school applies for a student found by the look-up."""

    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    class InputSerializer(serializers.Serializer):
        sending_school_id = serializers.IntegerField()
        student_uuid = serializers.UUIDField()
        target_class = serializers.IntegerField()
        reason = serializers.CharField(max_length=300)

    @extend_schema(
        request=InputSerializer, responses={201: CaseDetailSerializer}, summary="申请转入"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        case = transfer.transfer_start(
            actor=Actor.of(request.user),
            sending_school_id=v["sending_school_id"],
            student_uuid=v["student_uuid"],
            target_class_id=v["target_class"],
            reason=v["reason"],
        )
        return Response(CaseDetailSerializer(case).data, status=status.HTTP_201_CREATED)


# -- public host (bureau) -------------------------------------------------------------


def _region(request: Request) -> str:
    region = getattr(request.user, "region_id", None)
    if not region:
        raise NotFound()
    return str(region)


def _bureau_case(request: Request, case_id: object) -> Case:
    case = case_for_region(_region(request), str(case_id))
    if case is None:
        raise NotFound()
    return case


class BureauCaseListApi(APIView):
    """Every case of the region's schools, filtered by school, kind, overdue, waiting."""

    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    @extend_schema(
        parameters=[
            OpenApiParameter("school", int),
            OpenApiParameter("kind", str, enum=list(CaseKind.values)),
            OpenApiParameter("overdue", bool),
            OpenApiParameter("waiting", bool, description="only cases waiting for this bureau"),
            OpenApiParameter("state", str, enum=list(CaseState.values)),
            OpenApiParameter("page", int),
        ],
        responses=paginated(CaseSerializer, "PaginatedCaseList"),
        summary="辖区异动业务（分页）",
        operation_id="v1_bureau_cases_list",
    )
    def get(self, request: Request) -> Response:
        q = request.query_params
        school = q.get("school") or ""
        state = q.get("state") or CaseState.OPEN
        cases = cases_for_region(
            _region(request),
            kind=q.get("kind") if q.get("kind") in CaseKind.values else None,
            school_id=int(school) if school.isdigit() else None,
            overdue={"true": True, "1": True, "false": False, "0": False}.get(
                (q.get("overdue") or "").lower()
            ),
            state=state if state in CaseState.values else CaseState.OPEN,
            waiting=(q.get("waiting") or "").lower() in ("1", "true"),
        )
        # Pages like every list (the page's queue too); the filter is the query string.
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(cases, request, view=self)
        return paginator.get_paginated_response(CaseSerializer(page, many=True).data)


class BureauCaseDetailApi(APIView):
    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    @extend_schema(responses=CaseDetailSerializer, summary="异动业务详情（教育局）")
    def get(self, request: Request, case_id: object) -> Response:
        return Response(CaseDetailSerializer(_bureau_case(request, case_id)).data)


@sensitive(TRANSFER_APPROVE)
class BureauCaseDecisionApi(APIView):
    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    @extend_schema(request=DecisionSerializer, responses=CaseDetailSerializer, summary="教育局审核")
    def post(self, request: Request, case_id: object) -> Response:
        return _decide(request, _bureau_case(request, case_id))


class BureauCaseBatchDecisionApi(APIView):
    """Decide many 异动 cases at once; each is decided alone (its own transaction) and
    the answer lists every case's result. Transfers are never decided here (domain.md
    §3.5): a transfer among case_ids comes back ok=false with the reason, and a filter
    never matches one; approve each on POST /api/v1/bureau/cases/{case_id}/decision/."""

    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=CaseKind.choices, required=False, allow_blank=True)
        school = serializers.IntegerField(required=False, allow_null=True)
        overdue = serializers.BooleanField(required=False, allow_null=True, default=None)

    class InputSerializer(serializers.Serializer):
        case_ids = serializers.ListField(
            child=serializers.UUIDField(), max_length=API_BATCH_MAX, required=False
        )
        filter = serializers.DictField(required=False)
        approve = serializers.BooleanField()
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("case_ids" in attrs) == ("filter" in attrs):
                raise serializers.ValidationError(
                    "请给出 case_ids（勾选的业务）或 filter（符合条件的全部业务）之一。"
                )
            return attrs

    class StartedSerializer(serializers.Serializer):
        job_id = serializers.CharField(help_text="GET /api/v1/jobs/<job_id>/ 查看进度")
        matching = serializers.IntegerField()

    @extend_schema(
        # As InputSerializer, with the shape of `filter` (checked by FilterSerializer).
        request=inline_serializer(
            "BureauCaseBatchDecisionInput",
            {
                "case_ids": serializers.ListField(
                    child=serializers.UUIDField(), max_length=API_BATCH_MAX, required=False
                ),
                "filter": FilterSerializer(required=False),
                "approve": serializers.BooleanField(),
                "reason": serializers.CharField(max_length=500, required=False, allow_blank=True),
            },
        ),
        responses={
            200: inline_serializer(
                "BureauCaseBatchDecided",
                {
                    "results": inline_serializer(
                        "BureauCaseBatchResult",
                        {
                            "id": serializers.CharField(),
                            "number": serializers.CharField(required=False),
                            "ok": serializers.BooleanField(),
                            "message": serializers.CharField(required=False),
                            "state": serializers.CharField(required=False),
                        },
                        many=True,
                    )
                },
            ),
            202: StartedSerializer,
        },
        summary="批量审核异动（勾选的业务，或全选符合条件、待本局办理的业务；转学须逐件审核）",
        operation_id="v1_bureau_cases_batch_decision_create",
    )
    def post(self, request: Request) -> Response:
        from common.exceptions import ApplicationError
        from shared_apps.transfers.bulk import CaseFilter, batch_refusal, cases_decide_start

        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "filter" in v:
            flt = self.FilterSerializer(data=v["filter"])
            flt.is_valid(raise_exception=True)
            started = cases_decide_start(
                user=request.user,
                flt=CaseFilter.of(flt.validated_data),
                approve=v["approve"],
                reason=v["reason"],
            )
            return Response(self.StartedSerializer(started).data, status=status.HTTP_202_ACCEPTED)
        region = _region(request)
        actor = CaseActor.of(request.user)
        results = []
        for case_id in v["case_ids"]:
            case = case_for_region(region, case_id)
            if case is None:
                results.append({"id": str(case_id), "ok": False, "message": "未找到该业务。"})
                continue
            if refusal := batch_refusal(case):
                results.append(
                    {"id": str(case.pk), "number": case.number, "ok": False, "message": refusal}
                )
                continue
            try:
                decided = case_decide(
                    case_id=case.pk,
                    actor=actor,
                    approve=v["approve"],
                    reason=v["reason"],
                    step=case.step,
                )
            except ApplicationError as exc:
                results.append(
                    {"id": str(case.pk), "number": case.number, "ok": False, "message": exc.message}
                )
            else:
                results.append(
                    {"id": str(case.pk), "number": case.number, "ok": True, "state": decided.state}
                )
        return Response({"results": results})
