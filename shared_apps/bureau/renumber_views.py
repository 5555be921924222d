"""The county bureau's 学籍辅号 page and API: pick a grade, preview, apply, lock, unlock."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import WRITE, audit_record
from accounts.reauth import RENUMBER, sensitive
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.permissions import has_right
from common.views import right_required
from shared_apps.bureau import renumber
from shared_apps.bureau.renumber import STAGES, Plan

ROWS_SHOWN = 500


def _act(request: Any, action: str, stage: str, entry_year: str, digest: str, reason: str) -> str:
    """Run one action with its audit entry in the same transaction; the success text."""
    user = request.user
    with transaction.atomic():
        if action == "apply":
            changed = renumber.renumber_apply(
                user=user, stage=stage, entry_year=entry_year, digest=digest
            )
            text = _("已编排学籍辅号，%(n)s 名学生的辅号有变化。请核对后锁定。") % {"n": changed}
            after: dict[str, object] = {"state": "applied", "changed": changed}
        elif action == "lock":
            renumber.renumber_lock(user=user, stage=stage, entry_year=entry_year)
            text = _("已锁定：该年级的学籍辅号任何人不能再修改。")
            after = {"state": "locked"}
        elif action == "unlock":
            renumber.renumber_unlock(user=user, stage=stage, entry_year=entry_year, reason=reason)
            text = _("已解锁，可以重新编排或由学校更正。")
            after = {"state": "unlocked", "reason": reason.strip()}
        else:
            raise ApplicationError(_("未知操作。"), code="invalid")
        audit_record(
            request=request,
            action=WRITE,
            object_type="aux_numbering",
            object_id=f"{user.region_id}:{stage}:{entry_year}",
            object_repr=f"学籍辅号{ {'apply': '编排', 'lock': '锁定', 'unlock': '解锁'}[action] }："
            f"{STAGES.get(stage, stage)}{entry_year}级",
            after=after,
        )
    return text


def _page(request: HttpRequest, *, error: str = "", field_errors: Any = None) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    stage = source.get("stage", "")
    entry_year = source.get("entry_year", "").strip()
    plan: Plan | None = None
    numberings: list[renumber.AuxNumberingView] = []
    try:
        numberings = renumber.numberings_of(request.user)  # type: ignore[arg-type]
        if stage or entry_year:
            plan = renumber.renumber_plan(
                user=request.user,  # type: ignore[arg-type]
                stage=stage,
                entry_year=entry_year,
            )
    except ApplicationError as exc:
        error, field_errors = error or exc.message, field_errors or exc.extra
    schools: dict[str, int] = {}
    for row in plan.rows if plan else ():
        schools[row.school_name] = schools.get(row.school_name, 0) + 1
    return render(
        request,
        "bureau/renumber.html",
        {
            "stages": STAGES,
            "stage": stage,
            "entry_year": entry_year,
            "plan": plan,
            "rows": plan.rows[:ROWS_SHOWN] if plan else (),
            "rows_hidden": max(0, len(plan.rows) - ROWS_SHOWN) if plan else 0,
            "schools": schools,
            "numberings": numberings,
            "error": error,
            "field_errors": field_errors or {},
        },
        status=400 if error and request.method == "POST" else 200,
    )


def _post(request: HttpRequest) -> HttpResponse:
    stage = request.POST.get("stage", "")
    entry_year = request.POST.get("entry_year", "").strip()
    try:
        text = _act(
            request,
            request.POST.get("action", ""),
            stage,
            entry_year,
            request.POST.get("digest", ""),
            request.POST.get("reason", ""),
        )
    except ApplicationError as exc:
        return _page(request, error=exc.message, field_errors=exc.extra)
    messages.success(request, text)
    return redirect(f"{request.path}?stage={stage}&entry_year={entry_year}")


@right_required(Right.BUREAU_RENUMBER)
@require_http_methods(["GET", "POST"])
@sensitive(RENUMBER)
def renumber_view(request: HttpRequest) -> HttpResponse:
    """Preview on GET; apply, lock and unlock on POST (after re-entering the password)."""
    if request.method == "POST":
        return _post(request)
    return _page(request)


# -- API ----------------------------------------------------------------------------------


@sensitive(RENUMBER)
class RenumberApi(APIView):
    """GET: the preview of one grade (?stage=primary&entry_year=2024). POST: apply (with
    the preview's digest), lock, or unlock (with a reason), after re-entering the password."""

    permission_classes = [has_right(Right.BUREAU_RENUMBER)]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["apply", "lock", "unlock"])
        stage = serializers.ChoiceField(choices=list(STAGES))
        entry_year = serializers.IntegerField(min_value=1990, max_value=2100)
        digest = serializers.CharField(required=False, default="", allow_blank=True)
        reason = serializers.CharField(required=False, default="", allow_blank=True)

    class RowSerializer(serializers.Serializer):
        school_id = serializers.IntegerField()
        school_name = serializers.CharField()
        class_name = serializers.CharField()
        number_in_class = serializers.IntegerField(allow_null=True)
        name = serializers.CharField(help_text="已隐去部分")
        old = serializers.CharField()
        new = serializers.CharField()

    class DoneSerializer(serializers.Serializer):
        message = serializers.CharField()

    @extend_schema(
        summary="学籍辅号编排预览",
        parameters=[
            OpenApiParameter("stage", str, required=True, enum=list(STAGES)),
            OpenApiParameter("entry_year", int, required=True),
        ],
        responses=inline_serializer(
            "RenumberPreview",
            {
                "grade": serializers.CharField(),
                "format": serializers.CharField(),
                "digest": serializers.CharField(help_text="编排时原样提交"),
                "state": serializers.CharField(),
                "changed": serializers.IntegerField(),
                "rows": RowSerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        plan = renumber.renumber_plan(
            user=request.user,  # type: ignore[arg-type]
            stage=request.query_params.get("stage", ""),
            entry_year=request.query_params.get("entry_year", ""),
        )
        return Response(
            {
                "grade": plan.grade_label,
                "format": plan.fmt.label,
                "digest": plan.digest,
                "state": plan.numbering.state if plan.numbering else "",
                "changed": plan.changed,
                "rows": self.RowSerializer(plan.rows, many=True).data,
            }
        )

    @extend_schema(
        summary="学籍辅号编排、锁定与解锁", request=InputSerializer, responses=DoneSerializer
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        text = _act(
            request, d["action"], d["stage"], str(d["entry_year"]), d["digest"], d["reason"]
        )
        return Response({"message": text})
