from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import Right
from common.views import right_required
from tenant_apps.registry.selectors import class_list, registry_counts, student_list
from tenants.models import School


def _school(request: HttpRequest) -> School:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


@right_required(Right.SCHOOL_VIEW)
def school_home(request: HttpRequest) -> HttpResponse:
    classes = list(class_list())
    by_stage: dict[str, list[object]] = {}
    for c in classes:
        by_stage.setdefault(c.get_stage_display(), []).append(c)
    return render(
        request,
        "registry/school_home.html",
        {
            "school": _school(request),
            "counts": registry_counts(),
            "classes_by_stage": by_stage,
        },
    )


@right_required(Right.SCHOOL_VIEW)
def class_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "registry/class_list.html", {"classes": class_list()})


@right_required(Right.REGISTRY_VIEW)
def student_list_view(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    class_id = request.GET.get("class")
    qs = student_list(
        search=search, class_id=int(class_id) if class_id and class_id.isdigit() else None
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/student_list.html",
        {
            "page": page,
            "q": search,
            "classes": class_list(),
            "class_id": class_id or "",
        },
    )


@right_required(Right.STATS_VIEW)
def stats_view(request: HttpRequest) -> HttpResponse:
    rows = [
        {"name": c.name, "count": c.student_count}  # type: ignore[attr-defined]
        for c in class_list()
    ]
    peak = max([r["count"] for r in rows] + [1])
    for r in rows:
        r["width"] = round(100 * r["count"] / peak)
    return render(
        request,
        "registry/stats.html",
        {
            "counts": registry_counts(),
            "rows": rows,
            "schema": connection.schema_name,
        },
    )


@right_required(Right.GRADES_ENTER)
def grades_entry_view(request: HttpRequest) -> HttpResponse:
    # Courses and grade-entry assignments arrive with the grades module; until a
    # teacher is assigned a class and course this page shows that state honestly.
    return render(request, "registry/grades_entry.html", {})
