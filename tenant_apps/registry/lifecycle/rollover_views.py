"""The school's 升级与毕业 page and API: dry run, run (a background job), undo, confirm."""

from __future__ import annotations

from dataclasses import asdict
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

from accounts.reauth import ROLLOVER, sensitive
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.permissions import has_right
from common.views import right_required
from shared_apps.jobs.selectors import job_get_for
from tenant_apps.registry.lifecycle import rollover
from tenant_apps.registry.models.lifecycle import Rollover


def _year(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) == 4 else None


def rollover_launch(*, school_year: int, actor: Actor, owner_id: int) -> Rollover:
    """Record the run and its job, and send the task once the records are committed."""
    from shared_apps.jobs.services import job_create
    from tenant_apps.registry.tasks import rollover_run_task

    with transaction.atomic():
        run = rollover.rollover_start(school_year=school_year, actor=actor)
        job = job_create(owner_id=owner_id, kind="rollover", title=rollover.job_title(school_year))
        run.job_id = job.pk
        run.save(update_fields=["job_id"])
        args = (run.pk, str(job.pk), asdict(actor))
        transaction.on_commit(lambda: rollover_run_task.delay(*args))
    return run


def _act(
    request: Any,
    action: str,
    school_year: int | None,
    rollover_id: int | None,
    *,
    query: str = "",
    reason: str = "",
    student_id: int | None = None,
) -> str:
    actor = Actor.of(request.user)
    if action in {"complete", "uncomplete"}:
        # 结业 instead of 毕业 for one graduating pupil, marked in the dry run.
        if school_year is None:
            raise ApplicationError(_("请选择学年。"), code="invalid")
        if action == "complete":
            rollover.rollover_completion_mark(
                school_year=school_year, query=query, reason=reason, actor=actor
            )
            return _("已标记为结业：执行时该生办理结业，不办理毕业。")
        rollover.rollover_completion_unmark(
            school_year=school_year, student_id=student_id or 0, actor=actor
        )
        return _("已取消结业标记，该生将正常毕业。")
    if action == "run":
        if school_year is None:
            raise ApplicationError(_("请选择学年。"), code="invalid")
        rollover_launch(school_year=school_year, actor=actor, owner_id=request.user.pk)
        return _("已开始执行升级与毕业，完成后请核对并确认。")
    if rollover_id is None:
        raise ApplicationError(rollover.MSG_NOT_FOUND, code="not_found")
    if action == "undo":
        rollover.rollover_undo(rollover_id=rollover_id, actor=actor)
        return _("已撤销：毕业生已恢复原状态。")
    if action == "confirm":
        rollover.rollover_confirm(rollover_id=rollover_id, actor=actor)
        return _("已确认，本学年的升级与毕业不能再撤销。")
    raise ApplicationError(_("未知操作。"), code="invalid")


def _page(request: HttpRequest, *, error: str = "") -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    current = rollover.default_school_year()
    year = _year(source.get("school_year")) or current
    plan = rollover.rollover_plan(school_year=year, promote_ids=False)
    runs = rollover.rollover_list()
    live = next((r for r in runs if r.state in {"running", "applied"}), None)
    job = None
    if live is not None and live.job_id:
        job = job_get_for(user_id=request.user.pk, job_id=str(live.job_id))  # type: ignore[arg-type]
    dates = rollover.window(year)
    return render(
        request,
        "registry/rollover.html",
        {
            "plan": plan,
            # 毕业 and 结业 apart: the marked pupils leave as 结业.
            "graduating": len(plan.graduate_ids) - len(plan.completions),
            "completing": len(plan.completions),
            "runs": runs,
            "live": live,
            "job": job,
            "years": [current - 1, current],
            "dates": dates,
            # The button is live only on the days the service would accept the run.
            "can_execute": plan.can_run and dates.state == "open",
            "error": error,
        },
        status=400 if error else 200,
    )


def _post(request: HttpRequest) -> HttpResponse:
    try:
        text = _act(
            request,
            request.POST.get("action", ""),
            _year(request.POST.get("school_year")),
            int(request.POST["rollover_id"])
            if request.POST.get("rollover_id", "").isdigit()
            else None,
            query=request.POST.get("query", ""),
            reason=request.POST.get("reason", ""),
            student_id=int(request.POST["student_id"])
            if request.POST.get("student_id", "").isdigit()
            else None,
        )
    except ApplicationError as exc:
        return _page(request, error=exc.message)
    messages.success(request, text)
    year = request.POST.get("school_year", "")
    return redirect(f"{request.path}?school_year={year}" if _year(year) else request.path)


@right_required(Right.REGISTRY_EDIT)
@require_http_methods(["GET", "POST"])
@sensitive(ROLLOVER)
def rollover_view(request: HttpRequest) -> HttpResponse:
    """GET: the dry run; POST: run, undo or confirm (after re-entering the password)."""
    if request.method == "POST":
        return _post(request)
    return _page(request)


# -- API ------------------------------------------------------------------------------------


class BlockerSerializer(serializers.Serializer):
    identifier = serializers.CharField()
    name = serializers.CharField(help_text="已隐去部分")
    class_name = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    advice = serializers.CharField()


@sensitive(ROLLOVER)
class RolloverApi(APIView):
    """GET ?school_year=2025: the dry run. POST {action: run|undo|confirm, school_year,
    rollover_id} (after re-entering the password, POST /api/v1/auth/reauth/)."""

    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(
            choices=["run", "undo", "confirm", "complete", "uncomplete"]
        )
        school_year = serializers.IntegerField(required=False, min_value=1990, max_value=2100)
        rollover_id = serializers.IntegerField(required=False)
        query = serializers.CharField(
            required=False, allow_blank=True, help_text="complete：全国学籍号、学籍辅号或姓名"
        )
        reason = serializers.CharField(required=False, allow_blank=True, help_text="结业原因")
        student_id = serializers.IntegerField(required=False, help_text="uncomplete：学生")

    class PlanSerializer(serializers.Serializer):
        school_year = serializers.IntegerField()
        window = inline_serializer(
            "RolloverWindow",
            {
                "starts": serializers.DateField(),
                "ends": serializers.DateField(),
                "opens": serializers.DateField(),
                "closes": serializers.DateField(),
                "state": serializers.ChoiceField(choices=["early", "open", "past"]),
            },
        )
        graduating = serializers.IntegerField(help_text="可毕业（不含结业）")
        completing = serializers.IntegerField(help_text="标记为结业")
        promoting = serializers.IntegerField()
        can_run = serializers.BooleanField()
        existing = inline_serializer(
            "RolloverExisting",
            {"id": serializers.IntegerField(), "state": serializers.CharField()},
            allow_null=True,
        )
        blockers = BlockerSerializer(many=True)
        skipped = BlockerSerializer(many=True)
        completions = inline_serializer(
            "RolloverCompletion",
            {
                "student_id": serializers.IntegerField(),
                "identifier": serializers.CharField(),
                "name": serializers.CharField(help_text="已隐去部分"),
                "class_name": serializers.CharField(),
                "reason": serializers.CharField(),
            },
            many=True,
        )

    class DoneSerializer(serializers.Serializer):
        message = serializers.CharField()

    @extend_schema(
        summary="升级与毕业预检",
        parameters=[OpenApiParameter("school_year", int, description="学年，如 2025")],
        responses=PlanSerializer,
    )
    def get(self, request: Request) -> Response:
        plan = rollover.rollover_plan(
            school_year=_year(request.query_params.get("school_year")), promote_ids=False
        )
        dates = rollover.window(plan.school_year)
        return Response(
            {
                "school_year": plan.school_year,
                # The year's dates and whether a run is accepted today (early/open/past).
                "window": {
                    "starts": dates.starts,
                    "ends": dates.ends,
                    "opens": dates.opens,
                    "closes": dates.closes,
                    "state": dates.state,
                },
                "graduating": len(plan.graduate_ids) - len(plan.completions),
                "completing": len(plan.completions),
                "promoting": plan.promoting,
                "can_run": plan.can_run and dates.state == "open",
                "existing": (
                    {"id": plan.existing.pk, "state": plan.existing.state}
                    if plan.existing
                    else None
                ),
                "blockers": BlockerSerializer(plan.blockers, many=True).data,
                "skipped": BlockerSerializer(plan.skipped, many=True).data,
                "completions": [asdict(r) for r in plan.completion_rows],
            }
        )

    @extend_schema(
        summary="执行、撤销或确认升级与毕业", request=InputSerializer, responses=DoneSerializer
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        text = _act(
            request,
            d["action"],
            d.get("school_year"),
            d.get("rollover_id"),
            query=d.get("query", ""),
            reason=d.get("reason", ""),
            student_id=d.get("student_id"),
        )
        return Response({"message": text})
