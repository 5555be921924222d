"""查询统计 pages (server-rendered): the home with its links and snapshots, one page per
table with its chart, table view and Excel export, and the 升学率 definition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import content_disposition, right_required
from tenant_apps.registry.models import Student
from tenant_apps.reports.models import StatsSnapshot
from tenant_apps.reports.stats import selectors, services
from tenant_apps.reports.stats.exports import XLSX, table_export


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def params_from(query: Mapping[str, str]) -> selectors.Params:
    """The table's parameters from a query string (pages, exports and the API alike);
    a date that does not parse is ignored."""
    return selectors.Params(
        date=_date(query.get("date")),
        start=_date(query.get("start")),
        end=_date(query.get("end")),
        grade=(query.get("grade") or "").strip()[:40],
    )


def _spec(table: str) -> selectors.TableSpec:
    spec = selectors.TABLES.get(table)
    if spec is None:
        raise Http404
    return spec


@right_required(Right.STATS_VIEW)
def stats_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/stats/home.html",
        {
            "tables": list(selectors.TABLES.values()),
            "totals": selectors.registry_totals(),
            "snapshots": selectors.snapshot_list(),
        },
    )


@right_required(Right.STATS_VIEW)
def stats_table(request: HttpRequest, table: str) -> HttpResponse:
    spec = _spec(table)
    params = params_from(request.GET)
    result = spec.build(params)
    return render(
        request,
        "reports/stats/table.html",
        {
            "spec": spec,
            "table": result,
            "params": params,
            "today": timezone.localdate(),
            "grades": selectors.grade_names() if spec.asks == "grade" else [],
            "export_query": request.GET.urlencode(),
            "statuses": Student.Status.choices if spec.key == "promotion" else [],
            "promotion": selectors.promotion_settings_get() if spec.key == "promotion" else None,
        },
    )


@right_required(Right.STATS_VIEW)
def stats_table_export(request: HttpRequest, table: str) -> HttpResponse:
    spec = _spec(table)
    params = params_from(request.GET)
    result = spec.build(params)
    response = HttpResponse(table_export(result, params=params, request=request), content_type=XLSX)
    response["Content-Disposition"] = content_disposition(f"{spec.title}.xlsx")
    return response


@right_required(Right.STATS_VIEW)
@require_POST
def stats_snapshot_take(request: HttpRequest) -> HttpResponse:
    """立即生成快照: today's counts kept now (the daily task keeps them anyway)."""
    snapshot = services.snapshot_take(
        source=StatsSnapshot.Source.ON_DEMAND, taken_by=request.user.get_username()
    )
    messages.success(request, f"已生成 {snapshot.date:%Y-%m-%d} 的统计快照。")
    return redirect("reports:stats_home")


@right_required(Right.STATS_VIEW)
@require_POST
def stats_promotion_settings(request: HttpRequest) -> HttpResponse:
    """The school's 升学率 definition (domain.md §3.15: unconfirmed, so configurable)."""
    try:
        services.promotion_settings_set(
            cohort_statuses=request.POST.getlist("cohort"),
            promoted_statuses=request.POST.getlist("promoted"),
            updated_by=request.user.get_username(),
        )
        messages.success(request, "已保存升学率口径。")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("reports:stats_table", kwargs={"table": "promotion"}))
