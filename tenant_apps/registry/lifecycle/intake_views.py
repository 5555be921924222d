"""The junior school's intake pages and API (初中新生, registry.lifecycle.intake, intake_batch,
intake_new and paper)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.permissions import has_right
from common.schema import ErrorResponse
from common.views import right_required
from shared_apps.transfers.lookups import (
    LookupThrottled,
    api_lookup,
    api_throttled,
    list_guarded,
    lookup_guarded,
)
from tenant_apps.registry.lifecycle import intake, intake_batch, intake_new, paper
from tenant_apps.registry.models import SchoolClass, Student

INTAKE_KINDS = ("INTAKE", "INTAKE_LEFT_ELSEWHERE", "INTAKE_OTHER")
MAX_FILE = 5 * 1024 * 1024


def _school_cases(limit: int = 50) -> list[Any]:
    from shared_apps.transfers.selectors import cases_for_school

    school_id, _name, _county = intake._here()
    return list(
        cases_for_school(school_id)
        .filter(school_id=school_id, kind__in=INTAKE_KINDS)
        .order_by("-created_at")[:limit]
    )


def _upload(request: HttpRequest, field: str = "file") -> intake_new.Upload | None:
    f = request.FILES.get(field)
    if f is None:
        return None
    if f.size > MAX_FILE:  # type: ignore[operator]
        raise ApplicationError(_("文件太大。"), code="upload", extra={field: [_("文件太大。")]})
    return intake_new.Upload(name=f.name or "", data=f.read())


@right_required(Right.REGISTRY_EDIT)
@require_http_methods(["GET"])
def intake_view(request: HttpRequest) -> HttpResponse:
    """Find primary graduates (one by one) and see this school's intake cases."""
    q = {
        k: request.GET.get(k, "").strip()
        for k in ("name", "aux_number", "id_number", "national_number")
    }
    hits: list[intake.IntakeHit] = []
    error, searched, throttled = "", any(q.values()), False
    if searched:
        try:
            hits = list(
                lookup_guarded(
                    request, kind="intake", asked=q, run=lambda: intake.intake_lookup(**q)
                )
            )
        except ApplicationError as exc:
            error, throttled = exc.message, isinstance(exc, LookupThrottled)
    return render(
        request,
        "registry/intake.html",
        {
            "q": q,
            "hits": hits,
            "searched": searched,
            "error": error,
            "aux_hint": intake.MSG_AUX_COUNTY if q["aux_number"] and not hits else "",
            "classes": intake.intake_classes(),
            "year": intake.intake_year(),
            "cases": _school_cases(),
            "paper_open": len(paper.paper_reminders()),
        },
        status=429 if throttled else 200,
    )


@right_required(Right.REGISTRY_EDIT)
@require_POST
def intake_apply_view(request: HttpRequest) -> HttpResponse:
    try:
        case = intake.intake_apply(
            actor=Actor.of(request.user),
            school_id=request.POST.get("school_id", ""),  # type: ignore[arg-type]
            student_uuid=request.POST.get("student_uuid", ""),
            target_class_id=request.POST.get("target_class", ""),
            note=request.POST.get("note", ""),
            via=request.POST.get("via", "")[:20],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("lifecycle:intake")
    messages.success(request, _("已提交接收申请（%(n)s），等待教育局审核。") % {"n": case.number})
    return redirect("lifecycle:intake")


@right_required(Right.REGISTRY_EDIT)
@require_http_methods(["GET", "POST"])
def intake_batch_view(request: HttpRequest) -> HttpResponse:
    results: list[intake_batch.BatchRow] = []
    error, throttled = "", False
    if request.method == "POST":
        try:
            upload = _upload(request)
            if upload is None:
                raise ApplicationError(_("请选择名单文件（xlsx、xls或csv）。"), code="upload")
            results = list(
                list_guarded(
                    request,
                    run=lambda: intake_batch.intake_batch(
                        actor=Actor.of(request.user),
                        filename=upload.name,
                        data=upload.data,
                        target_class_id=request.POST.get("target_class", ""),
                        note=request.POST.get("note", ""),
                    ),
                )
            )
        except ApplicationError as exc:
            error, throttled = exc.message, isinstance(exc, LookupThrottled)
    return render(
        request,
        "registry/intake_batch.html",
        {
            "results": results,
            "ok": sum(1 for r in results if r.ok),
            "failed": sum(1 for r in results if not r.ok),
            "error": error,
            "classes": intake.intake_classes(),
            "year": intake.intake_year(),
        },
        status=429 if throttled else 400 if error else 200,
    )


@right_required(Right.REGISTRY_EDIT)
@require_http_methods(["GET", "POST"])
def intake_new_view(request: HttpRequest) -> HttpResponse:
    """异地离校生转入 / 其他增加: a draft entered through 新增学生, plus an explanation."""
    error, fields = "", {}
    if request.method == "POST":
        raw_id = request.POST.get("student", "")
        try:
            if not raw_id.isdigit():
                raise ApplicationError(
                    _("请选择学生。"), code="invalid", extra={"student": [_("请选择学生。")]}
                )
            case = intake_new.intake_register_new(
                actor=Actor.of(request.user),
                kind=request.POST.get("kind", ""),
                student_id=int(raw_id),
                reason=request.POST.get("reason", ""),
                explanation=_upload(request),
            )
        except ApplicationError as exc:
            error, fields = exc.message, exc.extra
        else:
            messages.success(
                request, _("已提交（%(n)s），等待学校和教育局审核。") % {"n": case.number}
            )
            return redirect("lifecycle:intake")
    return render(
        request,
        "registry/intake_new.html",
        {
            "kinds": intake_new.NEW_KINDS,
            "drafts": intake_new.drafts_for_new(),
            "year": intake.intake_year(),
            "error": error,
            "fields": fields,
            "form": request.POST,
        },
        status=400 if error else 200,
    )


@right_required(Right.REGISTRY_EDIT)
@require_http_methods(["GET", "POST"])
def paper_view(request: HttpRequest) -> HttpResponse:
    """临时纸质档案: the reminder list, and a new record for a child without an ID."""
    error, fields = "", {}
    if request.method == "POST":
        try:
            paper.paper_create(
                data=paper.PaperInput(
                    name=request.POST.get("name", ""),
                    sex=request.POST.get("sex", ""),
                    birth_date=request.POST.get("birth_date", ""),
                    class_id=request.POST.get("class_id", ""),
                    guardian_name=request.POST.get("guardian_name", ""),
                    guardian_phone=request.POST.get("guardian_phone", ""),
                    note=request.POST.get("note", ""),
                ),
                actor=Actor.of(request.user),
            )
        except ApplicationError as exc:
            error, fields = exc.message, exc.extra
        else:
            messages.success(request, _("已建立临时纸质档案，请督促家长尽快办理户籍登记。"))
            return redirect("lifecycle:paper")
    from tenant_apps.registry.models.lifecycle import PaperRecord

    return render(
        request,
        "registry/intake_paper.html",
        {
            "reminders": paper.paper_reminders(),
            "done": PaperRecord.objects.filter(state="completed").select_related("student")[:50],
            "classes": SchoolClass.objects.all(),
            "sexes": Student.Sex.choices,
            "error": error,
            "fields": fields,
            "form": request.POST,
        },
        status=400 if error else 200,
    )


@right_required(Right.REGISTRY_EDIT)
@require_POST
def paper_complete_view(request: HttpRequest, paper_id: int) -> HttpResponse:
    try:
        paper.paper_complete(
            record_id=paper_id,
            id_number=request.POST.get("id_number", ""),
            actor=Actor.of(request.user),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已关联学籍，该临时档案完成。"))
    return redirect("lifecycle:paper")


# -- API ------------------------------------------------------------------------------------


class HitSerializer(serializers.Serializer):
    school_id = serializers.IntegerField()
    school_name = serializers.CharField()
    student_uuid = serializers.CharField()
    name = serializers.CharField(help_text="已隐去部分")
    id_number = serializers.CharField(help_text="已隐去部分")
    class_name = serializers.CharField()
    status = serializers.CharField()
    same_county = serializers.BooleanField()
    eligible = serializers.BooleanField()
    why = serializers.CharField()


class IntakeLookupApi(APIView):
    """GET ?name=&aux_number= | &id_number= | &national_number=: primary graduates."""

    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    @extend_schema(
        summary="查找小学毕业生（姓名加一个号码；每位用户限次，超出为429）",
        parameters=[
            OpenApiParameter("name", str, required=True),
            OpenApiParameter("id_number", str),
            OpenApiParameter("aux_number", str, description="学籍辅号"),
            OpenApiParameter("national_number", str),
        ],
        responses={200: HitSerializer(many=True), 429: ErrorResponse},
    )
    def get(self, request: Request) -> Response:
        p = request.query_params
        asked = {k: p.get(k, "") for k in ("name", "id_number", "aux_number", "national_number")}
        hits = api_lookup(
            request, kind="intake", asked=asked, run=lambda: intake.intake_lookup(**asked)
        )
        return Response(HitSerializer(hits, many=True).data)


class IntakeApplyApi(APIView):
    """POST one graduate (from a lookup) into a grade-7 class; or, with a file field
    `file`, a whole list (name + ID number or 学籍辅号) with a result per row."""

    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    class InputSerializer(serializers.Serializer):
        school_id = serializers.IntegerField(required=False)
        student_uuid = serializers.UUIDField(required=False)
        target_class = serializers.IntegerField()
        note = serializers.CharField(required=False, default="", allow_blank=True)
        file = serializers.FileField(required=False)

    class BatchRowSerializer(serializers.Serializer):
        row = serializers.IntegerField(help_text="文件中的行号")
        name = serializers.CharField()
        key = serializers.CharField(help_text="身份证件号（已隐去部分）或学籍辅号")
        ok = serializers.BooleanField()
        message = serializers.CharField()
        case_number = serializers.CharField()

    @extend_schema(
        summary="初中新生接收（单个或名单）",
        request={
            "application/json": InputSerializer,
            "multipart/form-data": InputSerializer,
        },
        responses={
            200: inline_serializer("IntakeBatchDone", {"rows": BatchRowSerializer(many=True)}),
            201: inline_serializer(
                "IntakeApplied",
                {"case_id": serializers.CharField(), "number": serializers.CharField()},
            ),
            429: ErrorResponse,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        actor = Actor.of(request.user)
        if d.get("file") is not None:
            f = d["file"]
            try:
                rows = list_guarded(
                    request,
                    run=lambda: intake_batch.intake_batch(
                        actor=actor,
                        filename=f.name or "",
                        data=f.read(),
                        target_class_id=d["target_class"],
                        note=d["note"],
                    ),
                )
            except LookupThrottled as exc:
                raise api_throttled(exc) from exc
            return Response({"rows": [r.__dict__ for r in rows]})
        if not d.get("school_id") or not d.get("student_uuid"):
            raise ApplicationError(intake.MSG_NOT_FOUND, code="not_found")
        case = intake.intake_apply(
            actor=actor,
            school_id=d["school_id"],
            student_uuid=d["student_uuid"],
            target_class_id=d["target_class"],
            note=d["note"],
            via="api",
        )
        return Response(
            {"case_id": str(case.pk), "number": case.number}, status=status.HTTP_201_CREATED
        )
