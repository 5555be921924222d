"""The bureau dashboard's pages (server-rendered): one page per drill level — the
officer's region, a county, a township, a school, a grade (its classes) — each with its
totals, charts and tables, every table exportable to Excel; the monthly report as PDF;
and a school's 查询统计, read-only, through the report app's facade.

A scope that is not the officer's answers 404, as an unknown one does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import content_disposition, right_required
from shared_apps.bureau.dashboard import report, selectors
from shared_apps.bureau.dashboard.exports import XLSX, export_filename, table_export
from shared_apps.bureau.dashboard.selectors import DashTable, Row, Scope
from tenant_apps.reports import facade as reports_facade

RIGHT = Right.BUREAU_SCHOOLS_VIEW
MSG_YEAR = "入学年份应为四位数字，例如 2024。"
MSG_SCHOOL = "学校参数应为数字。"
MSG_ONE_SCOPE = "县、乡镇和学校只能指定一个。"
MSG_DATE = "日期格式应为 YYYY-MM-DD。"


def scope_from_query(user: User, query: Mapping[str, str]) -> Scope | None:
    """The scope of an export, report or API call (?county=, ?township=, ?school= with
    ?stage=&entry_year=); bad values are refused with a Chinese message (400), a scope
    that is not the user's is None (404)."""
    county = (query.get("county") or "").strip()
    township = (query.get("township") or "").strip()
    school = (query.get("school") or "").strip()
    if sum(1 for v in (county, township, school) if v) > 1:
        raise ApplicationError(MSG_ONE_SCOPE)
    school_id = None
    if school:
        if not school.isdigit() or len(school) > 12:
            raise ApplicationError(MSG_SCHOOL)
        school_id = int(school)
    stage = (query.get("stage") or "").strip()
    year_text = (query.get("entry_year") or "").strip()
    entry_year = None
    if year_text:
        if not (year_text.isdigit() and len(year_text) == 4):
            raise ApplicationError(MSG_YEAR)
        entry_year = int(year_text)
    if (stage or entry_year) and school_id is None:
        return None
    return selectors.scope_for(
        user,
        county=county,
        township=township,
        school_id=school_id,
        stage=stage,
        entry_year=entry_year,
    )


def _link(row: Row) -> str:
    if row.drill is None:
        return ""
    kind, value = row.drill
    if kind == "county":
        return reverse("bureau:dashboard_county", kwargs={"county": value})
    if kind == "township":
        return reverse("bureau:dashboard_township", kwargs={"township": value})
    if kind == "school":
        return reverse("bureau:dashboard_school", kwargs={"school_id": int(value)})
    if kind == "grade":
        school_id, stage, year = value.split(":")
        return reverse(
            "bureau:dashboard_grade",
            kwargs={"school_id": int(school_id), "stage": stage, "entry_year": int(year)},
        )
    return ""


def _crumbs(user: User, scope: Scope) -> list[tuple[str, str]]:
    """region → county → township → school → grade, each a link but the last."""
    home = user.region.name if user.region_id else "全部地区"  # type: ignore[union-attr]
    crumbs = [(home, reverse("bureau:dashboard"))]
    multi = selectors.governs_counties(user)
    if scope.level == "region":
        return crumbs
    if scope.county and multi:
        crumbs.append(
            (scope.county_name, reverse("bureau:dashboard_county", kwargs={"county": scope.county}))
        )
    if scope.level in ("township", "school", "grade") and scope.township:
        crumbs.append(
            (
                scope.township_name,
                reverse("bureau:dashboard_township", kwargs={"township": scope.township}),
            )
        )
    if scope.school is not None:
        crumbs.append(
            (
                scope.school.name,
                reverse("bureau:dashboard_school", kwargs={"school_id": scope.school.id}),
            )
        )
    if scope.level == "grade":
        crumbs.append((scope.title.split(" ", 1)[-1], ""))
    return crumbs


def _render(request: HttpRequest, scope: Scope | None) -> HttpResponse:
    if scope is None:
        raise Http404
    user: User = request.user  # type: ignore[assignment]
    totals, tables = selectors.dashboard(scope)
    query = urlencode(scope.query())
    shown = []
    for table in tables:
        rows = table.rows
        page = None
        if table.key == "schools" and len(rows) > selectors.SCHOOLS_PAGE:
            page = Paginator(rows, selectors.SCHOOLS_PAGE).get_page(request.GET.get("page"))
            rows = list(page.object_list)
        # Cells as text here: the template then prints strings, not numbers it would
        # localise one by one (half the page's time on a 50-row table).
        links = [
            (row.label, _link(row), ["—" if v is None else str(v) for v in row.values])
            for row in rows
        ]
        export = reverse(f"bureau:dashboard_export_{table.key}") + (f"?{query}" if query else "")
        shown.append({"table": table, "rows": links, "page": page, "export": export})
    stats_tables = reports_facade.stats_tables() if scope.level == "school" else []
    return render(
        request,
        "bureau/dashboard/dashboard.html",
        {
            "scope": scope,
            "totals": totals,
            "tables": shown,
            "query": query,
            "crumbs": _crumbs(user, scope),
            "today": timezone.localdate(),
            "stats_tables": stats_tables,
        },
    )


@right_required(RIGHT)
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    return _render(request, selectors.scope_for(request.user))  # type: ignore[arg-type]


@right_required(RIGHT)
@require_GET
def dashboard_county_view(request: HttpRequest, county: str) -> HttpResponse:
    return _render(request, selectors.scope_for(request.user, county=county))  # type: ignore[arg-type]


@right_required(RIGHT)
@require_GET
def dashboard_township_view(request: HttpRequest, township: str) -> HttpResponse:
    return _render(request, selectors.scope_for(request.user, township=township))  # type: ignore[arg-type]


@right_required(RIGHT)
@require_GET
def dashboard_school_view(request: HttpRequest, school_id: int) -> HttpResponse:
    return _render(request, selectors.scope_for(request.user, school_id=school_id))  # type: ignore[arg-type]


@right_required(RIGHT)
@require_GET
def dashboard_grade_view(
    request: HttpRequest, school_id: int, stage: str, entry_year: int
) -> HttpResponse:
    scope = selectors.scope_for(
        request.user,  # type: ignore[arg-type]
        school_id=school_id,
        stage=stage,
        entry_year=entry_year,
    )
    return _render(request, scope)


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "bureau/dashboard/error.html", {"message": message}, status=400)


@right_required(RIGHT)
@require_GET
def dashboard_export_view(request: HttpRequest, dash_table: str) -> HttpResponse:
    try:
        scope = scope_from_query(request.user, request.GET)  # type: ignore[arg-type]
    except ApplicationError as exc:
        return _bad_request(request, exc.message)
    if scope is None:
        raise Http404
    table: DashTable | None = selectors.one_table(scope, dash_table)
    if table is None:
        raise Http404
    as_of = f"{timezone.localdate():%Y-%m-%d}"
    data = table_export(table, scope=scope, as_of=as_of, request=request)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition(export_filename(table, scope, as_of))
    return response


@right_required(RIGHT)
@require_GET
def dashboard_report_view(request: HttpRequest) -> HttpResponse:
    """生成报表: the month's PDF for the scope asked for (the region by default)."""
    try:
        scope = scope_from_query(request.user, request.GET)  # type: ignore[arg-type]
        if scope is None:
            raise Http404
        month = report.month_parse(request.GET.get("month"))
        data = report.report_pdf(scope, month)
    except ApplicationError as exc:
        return _bad_request(request, exc.message)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(
        f"{scope.title}学籍统计月报-{month:%Y-%m}.pdf"
    )
    return response


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ApplicationError(MSG_DATE) from exc


@right_required(RIGHT)
@require_GET
def school_stats_view(request: HttpRequest, school_id: int, table: str) -> HttpResponse:
    """One 查询统计 table of a governed school, read-only (counts only)."""
    scope = selectors.scope_for(request.user, school_id=school_id)  # type: ignore[arg-type]
    if scope is None or scope.school is None:
        raise Http404
    try:
        result = reports_facade.stats_table(
            schema_name=scope.school.schema_name,
            key=table,
            date=_date(request.GET.get("date")),
            start=_date(request.GET.get("start")),
            end=_date(request.GET.get("end")),
        )
    except ApplicationError as exc:
        return _bad_request(request, exc.message)
    if result is None:
        raise Http404
    return render(
        request,
        "bureau/dashboard/school_stats.html",
        {
            "scope": scope,
            "table": result,
            "tables": reports_facade.stats_tables(),
            "crumbs": _crumbs(request.user, scope),  # type: ignore[arg-type]
            "today": timezone.localdate(),
        },
    )
