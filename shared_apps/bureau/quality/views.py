"""数据质量 pages on the bureau host: the schools ranked by how much needs doing, one
school's figures, each figure's list (read inside that school through its facade, masked)
with its Excel export, and the county's 人籍一致 deadlines."""

from __future__ import annotations

import datetime as dt
import math

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.roles import Right
from common.charts import Chart, Series
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.bureau.quality.exports import XLSX, attachment, figure_export
from shared_apps.bureau.quality.selectors import (
    TermRef,
    current_term,
    deadline_terms,
    quality_list,
    quality_ranking,
    roster_deadline,
    roster_deadlines,
    school_quality_row,
)
from shared_apps.bureau.quality.services import roster_deadline_set
from shared_apps.bureau.selectors import access_school, counties_under
from shared_apps.regions.models import Region
from tenant_apps.registry.facade import AGE_BANDS, FIGURE_BY_KEY, FIGURES

LIST_PAGE_SIZE = 50
MSG_DATE_FORMAT = "日期格式应为 YYYY-MM-DD。"
MSG_DEADLINE_SET = "已设置{county}{term}人籍一致截止日期：{deadline}。"
CHART_SCHOOLS = 15  # the chart shows the schools with the most to do; the table shows all


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and int(raw) > 0 else 1


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_http_methods(["GET"])
def quality_home_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    rows = quality_ranking(user=user)  # type: ignore[arg-type]
    counties = {r.county_name for r in rows}
    top = [r for r in rows if r.score > 0][:CHART_SCHOOLS]
    chart = Chart(
        title="待办最多的学校（加权）",
        categories=[r.school_name for r in top],
        series=[Series("待办（加权）", [r.score for r in top])],
        kind="hbar",
    )
    totals = [(f, sum(r.figure(f.key).count for r in rows)) for f in FIGURES]
    refreshed = [r.refreshed_at for r in rows if r.refreshed_at is not None]
    context = {
        "rows": rows,
        "figures": FIGURES,
        "totals": totals,
        "chart": chart if top else None,
        "show_county": len(counties) > 1,
        "oldest_refresh": min(refreshed) if refreshed else None,
        "term": current_term(),
        "deadline": _own_deadline(user),
        "can_set_deadline": user.has_right(Right.BUREAU_SCHOOLS_MANAGE),  # type: ignore[union-attr]
    }
    return render(request, "bureau/quality/home.html", context)


def _own_deadline(user: object) -> dt.date | None:
    region = getattr(user, "region", None)
    if region is None or region.level != Region.Level.COUNTY:
        return None
    return roster_deadline(county_id=region.code)


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_http_methods(["GET"])
def quality_school_view(request: HttpRequest, school_id: int) -> HttpResponse:
    row = school_quality_row(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if row is None:
        raise Http404
    aged = [c for c in row.figures if FIGURE_BY_KEY[c.key].aged]
    chart = Chart(
        title="待办事项按时长",
        categories=[c.label for c in aged],
        series=[
            Series(label, [c.bands[i] for c in aged]) for i, (label, _l, _h) in enumerate(AGE_BANDS)
        ],
        kind="stacked",
    )
    # Nothing waiting: a chart of zeros says less than the table beside it.
    has_aged = any(any(c.bands) for c in aged)
    context = {"row": row, "bands": [b[0] for b in AGE_BANDS], "chart": chart if has_aged else None}
    return render(request, "bureau/quality/school.html", context)


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_http_methods(["GET"])
def quality_list_view(request: HttpRequest, school_id: int, figure: str) -> HttpResponse:
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None or figure not in FIGURE_BY_KEY:
        raise Http404
    number = _page_number(request.GET.get("page"))
    page = quality_list(
        school=school,
        figure=figure,
        offset=(number - 1) * LIST_PAGE_SIZE,
        limit=LIST_PAGE_SIZE,
    )
    pages = max(1, math.ceil(page.total / LIST_PAGE_SIZE))
    if number > pages:
        number = pages
    context = {
        "school": school,
        "figure": FIGURE_BY_KEY[figure],
        "items": page.items,
        "total": page.total,
        "number": number,
        "start": (number - 1) * LIST_PAGE_SIZE + 1,
        "pages": pages,
        "previous": number - 1 if number > 1 else None,
        "next": number + 1 if number < pages else None,
        "people": figure not in ("roster_missing", "roster_overdue"),
    }
    return render(request, "bureau/quality/list.html", context)


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_http_methods(["GET"])
def quality_export_view(request: HttpRequest, school_id: int, figure: str) -> HttpResponse:
    """The whole list as Excel (masked as on the page), recorded in the audit log."""
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None or figure not in FIGURE_BY_KEY:
        raise Http404
    data = figure_export(school=school, figure=figure, request=request)
    response = HttpResponse(data, content_type=XLSX)
    name = f"数据质量-{school.name}-{FIGURE_BY_KEY[figure].label}.xlsx"
    response["Content-Disposition"] = attachment(name)
    return response


def _deadline_context(
    user: object, values: dict[str, str], errors: dict[str, list[str]]
) -> dict[str, object]:
    can_set = user.has_right(Right.BUREAU_SCHOOLS_MANAGE) and user.region_id is not None  # type: ignore[attr-defined]
    counties = list(counties_under(user.region)) if can_set else []  # type: ignore[attr-defined]
    if not values.get("county") and len(counties) == 1:
        values = values | {"county": counties[0].code[:6]}
    return {
        "deadlines": roster_deadlines(user=user),  # type: ignore[arg-type]
        "counties": [(c.code[:6], c.name) for c in counties],
        "terms": deadline_terms(),
        "can_set": can_set,
        "values": values,
        "errors": errors,
    }


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_http_methods(["GET"])
def roster_deadlines_view(request: HttpRequest) -> HttpResponse:
    """The counties' 人籍一致 deadlines; officers who manage schools also see the form."""
    context = _deadline_context(request.user, {"county": "", "term": "", "deadline": ""}, {})
    return render(request, "bureau/quality/deadlines.html", context)


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_http_methods(["POST"])
def roster_deadline_set_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    values = {k: request.POST.get(k, "").strip() for k in ("county", "term", "deadline")}
    errors: dict[str, list[str]] = {}
    try:
        deadline = dt.date.fromisoformat(values["deadline"]) if values["deadline"] else None
    except ValueError:
        errors["deadline"] = [MSG_DATE_FORMAT]
    else:
        try:
            row = roster_deadline_set(
                user=user,  # type: ignore[arg-type]
                county_code=values["county"],
                term_value=values["term"],
                deadline=deadline,
            )
        except ApplicationError as exc:
            errors = {k: list(v) for k, v in (exc.extra or {"": [exc.message]}).items()}
        else:
            term = TermRef(row.school_year, row.term)
            messages.success(
                request,
                MSG_DEADLINE_SET.format(
                    county=row.county.name, term=term.label, deadline=f"{row.deadline:%Y-%m-%d}"
                ),
            )
            return redirect("bureau:quality_deadlines")
    context = _deadline_context(user, values, errors)
    return render(request, "bureau/quality/deadlines.html", context, status=400)
