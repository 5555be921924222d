"""The 照片批量导入 pages: upload a ZIP, follow its dry run, read the report, 确认导入.
Thin: registry.photos.bulk does the work (in Celery jobs)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.jobs.selectors import job_get_for
from tenant_apps.registry.photos import bulk
from tenant_apps.registry.photos.family_views import PHOTO_RIGHT

MSG_NO_FILE = "请选择要上传的ZIP压缩包。"


@right_required(PHOTO_RIGHT)
@require_http_methods(["GET", "POST"])
def bulk_start_view(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("archive")
        if upload is None:
            error = _(MSG_NO_FILE)
        else:
            try:
                job_id = bulk.bulk_start(
                    upload=upload,
                    filename=upload.name or "photos.zip",
                    size=upload.size or 0,
                    actor=Actor.of(request.user),
                    owner_id=request.user.pk,  # type: ignore[arg-type]
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                return redirect("registry:photo_bulk_job", job_id=job_id)
    return render(
        request,
        "registry/photos/bulk_start.html",
        {"error": error, "max_gb": bulk.MAX_ZIP_BYTES // 1024**3},
        status=400 if error else 200,
    )


@right_required(PHOTO_RIGHT)
@require_GET
def bulk_job_view(request: HttpRequest, job_id: object) -> HttpResponse:
    """A dry run's or a store's progress; the dry run's result link opens the report."""
    job = job_get_for(user_id=request.user.pk, job_id=str(job_id))  # type: ignore[arg-type]
    if job is None or job.kind not in (bulk.CHECK_KIND, bulk.STORE_KIND):
        raise Http404
    if job.kind == bulk.CHECK_KIND and job.state == job.State.SUCCEEDED and job.result_url:
        return redirect(job.result_url)
    return render(request, "registry/photos/bulk_job.html", {"job": job})


@right_required(PHOTO_RIGHT)
@require_GET
def bulk_report_view(request: HttpRequest, report_token: str) -> HttpResponse:
    report = bulk.report_load(token=report_token, user_id=request.user.pk)  # type: ignore[arg-type]
    if report is None:
        raise Http404
    order = list(bulk.STATUS_LABELS)
    rows = sorted(report.rows, key=lambda r: (order.index(r.status), r.path))
    return render(
        request,
        "registry/photos/bulk_report.html",
        {
            "report": report,
            "counts": report.counts,
            "rows": rows[: bulk.ROWS_SHOWN],
            "more": max(0, len(rows) - bulk.ROWS_SHOWN),
            "labels": bulk.STATUS_LABELS,
            "token": report_token,
        },
    )


@right_required(PHOTO_RIGHT)
@require_POST
def bulk_confirm_view(request: HttpRequest, report_token: str) -> HttpResponse:
    try:
        job_id = bulk.bulk_confirm(
            token=report_token,
            actor=Actor.of(request.user),
            owner_id=request.user.pk,  # type: ignore[arg-type]
            request=request,
        )
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise Http404 from exc
        messages.error(request, exc.message)
        return redirect("registry:photo_bulk_report", report_token=report_token)
    return redirect("registry:photo_bulk_job", job_id=job_id)
