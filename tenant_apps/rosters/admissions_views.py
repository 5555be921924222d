"""录取名单与学籍比对 (the county's admitted list against this school's registry) and the
same diff for a staged nutrition roster. Thin: rosters.admissions does the work."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.audit import READ_EXPORT, audit_record
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.rosters import admissions, selectors
from tenant_apps.rosters.admissions_exports import XLSX, diff_workbook
from tenant_apps.rosters.models import AdmissionList

ROWS_PER_PAGE = 50


def _intake(request: HttpRequest) -> tuple[str, int]:
    from tenant_apps.registry.lifecycle.intake import intake_year

    stage = request.GET.get("stage", "")
    if stage not in admissions.STAGE_LABELS:
        stage = AdmissionList.Stage.PRIMARY
    try:
        year = admissions.intake_check(stage, request.GET.get("year", ""))
    except ApplicationError:  # no year asked for (or a bad one): this autumn's intake
        year = intake_year()
    return stage, year


def _published() -> list[dict[str, Any]]:
    return [
        {
            "stage": a.stage,
            "year": a.entry_year,
            "label": admissions.intake_label(a.stage, a.entry_year),
            "at": a.published_at,
            "counts": a.counts,
        }
        for a in AdmissionList.objects.order_by("-entry_year", "stage", "-published_at")
    ]


@right_required(Right.DATA_MANAGE)
@require_GET
def admissions_view(request: HttpRequest) -> HttpResponse:
    stage, year = _intake(request)
    current = admissions.list_current(stage, year)
    diff = admissions.intake_shown(stage, year) if current is not None else None
    admitted = None
    if current is not None:
        admitted = Paginator(
            [admissions.person_shown(p) for p in admissions.admitted_people(current)],
            ROWS_PER_PAGE,
        ).get_page(request.GET.get("page"))
    seen: set[tuple[str, int]] = set()
    published = []
    for item in _published():
        if (item["stage"], item["year"]) not in seen:
            seen.add((item["stage"], item["year"]))
            published.append(item)
    return render(
        request,
        "rosters/admissions.html",
        {
            "stage": stage,
            "year": year,
            "stages": admissions.STAGE_LABELS,
            "intake": admissions.intake_label(stage, year),
            "current": current,
            "diff": diff,
            "admitted": admitted,
            "published": published,
            "overrides": admissions.overrides_shown(stage, year),
            "query": f"stage={stage}&year={year}",
        },
    )


@right_required(Right.DATA_MANAGE)
@require_GET
def admissions_export_view(request: HttpRequest) -> HttpResponse:
    """The intake's diff as a workbook, masked as the page, audited before it is sent."""
    stage, year = _intake(request)
    diff = admissions.intake_shown(stage, year)
    if diff is None:
        raise Http404
    data = diff_workbook(diffs=[("", diff)])
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="admissions",
        object_id=f"{stage}:{year}",
        object_repr=f"录取名单与学籍比对：{diff.title}",
        after=diff.counts,
    )
    name = f"录取名单与学籍比对_{diff.title}.xlsx"
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = (
        f"attachment; filename=\"admissions.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    return response


@right_required(Right.DATA_MANAGE)
@require_GET
def upload_diff_view(request: HttpRequest, upload_id: object) -> HttpResponse:
    """A staged roster (the nutrition programme's) against every student on the roll."""
    upload = selectors.upload_get(upload_id)
    if upload is None:
        raise Http404
    return render(
        request,
        "rosters/upload_diff.html",
        {"upload": upload, "diff": admissions.upload_diff(upload)},
    )
