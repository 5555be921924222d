"""The 批量导入 pages: upload a workbook, follow its dry run's report, confirm the write.
Thin: registry.imports.pipeline does the work (in Celery tasks for the long steps)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.jobs.selectors import job_get_for
from tenant_apps.registry.imports import pipeline as imports
from tenant_apps.registry.imports.selectors import import_batch_get, import_batch_list
from tenant_apps.registry.models import ImportBatch
from tenant_apps.registry.students.forms import ERROR_KIND_LABELS, ImportUploadForm
from tenant_apps.registry.students.reveal import report_row_shown

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ERRORS_SHOWN = 200


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user)


def _flash_error(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


@right_required(Right.DATA_MANAGE)
@require_http_methods(["GET", "POST"])
def import_start_view(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size and upload.size > MAX_UPLOAD_BYTES:
            form.add_error("file", _("文件超过20MB，请拆分后分批导入。"))
        else:
            try:
                batch = imports.import_start(
                    filename=upload.name or "upload",
                    data=upload.read(),
                    actor=_actor(request),
                    owner_id=request.user.pk,  # type: ignore[arg-type]
                )
            except ApplicationError as exc:
                for msg in exc.extra.get("file", []):
                    form.add_error("file", msg)
                if exc.message not in exc.extra.get("file", []):
                    form.add_error(None, exc.message)
            else:
                return redirect("registry:import_detail", batch_id=batch.pk)
    # The school's latest batches (this schema only).
    batches = import_batch_list()
    return render(request, "registry/import_start.html", {"form": form, "batches": batches})


def _by_kind(counts: dict[str, Any]) -> list[dict[str, Any]]:
    by_kind = counts.get("by_kind") or {}
    peak = max(list(by_kind.values()) + [1])
    return [
        {"label": ERROR_KIND_LABELS.get(k, k), "count": n, "width": round(100 * n / peak)}
        for k, n in sorted(by_kind.items(), key=lambda kv: -kv[1])
    ]


@right_required(Right.DATA_MANAGE)
def import_detail_view(request: HttpRequest, batch_id: object) -> HttpResponse:
    batch = import_batch_get(batch_id=str(batch_id))
    if batch is None:
        raise Http404
    job = None
    if batch.job_id:
        job = job_get_for(user_id=request.user.pk, job_id=str(batch.job_id))  # type: ignore[arg-type]
    errors = [report_row_shown(e) for e in batch.errors[:ERRORS_SHOWN]]
    counts = batch.counts
    normalised = [report_row_shown(n) for n in counts.get("normalised", [])[:ERRORS_SHOWN]]
    return render(
        request,
        "registry/import_detail.html",
        {
            "batch": batch,
            "job": job,
            "counts": batch.counts,
            "by_kind": _by_kind(batch.counts),
            "errors": errors,
            "errors_total": len(batch.errors),
            "errors_more": max(0, len(batch.errors) - ERRORS_SHOWN),
            "errors_shown": ERRORS_SHOWN,
            "duplicates": batch.duplicates,
            "headers_unknown": counts.get("headers_unknown") or [],
            "normalised": normalised,
            "normalised_more": counts.get("normalised_total", 0) > len(normalised),
            "normalised_by_field": list((counts.get("normalised_by_field") or {}).items()),
            "annotated_url": default_storage.url(batch.annotated_key)
            if batch.annotated_key
            else "",
            "modes": ImportBatch.Mode,
        },
    )


@right_required(Right.DATA_MANAGE)
@require_POST
def import_confirm_view(request: HttpRequest, batch_id: object) -> HttpResponse:
    if import_batch_get(batch_id=str(batch_id)) is None:
        raise Http404
    try:
        result = imports.import_confirm(
            batch_id=str(batch_id),
            mode=request.POST.get("mode", ""),
            actor=_actor(request),
            acknowledge_headers=request.POST.get("acknowledge_headers") == "1",
        )
    except ApplicationError as exc:
        _flash_error(request, exc)
    else:
        messages.success(
            request,
            _("导入完成：写入 %(written)s 名学生，跳过 %(skipped)s 行。")
            % {"written": result.get("written", 0), "skipped": result.get("skipped", 0)},
        )
    return redirect("registry:import_detail", batch_id=batch_id)
