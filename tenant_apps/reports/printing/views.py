"""打印中心's pages: the choice of document and scope, making it (a file, or a job for a
large batch whose progress the page shows), and the job's file for its owner."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import Right
from common.views import content_disposition, right_required
from shared_apps.jobs.links import job_followed
from tenant_apps.reports.printing import selectors, services
from tenant_apps.reports.printing.documents import Printed


def file_response(printed: Printed) -> HttpResponse:
    """The document as a download; the Chinese file name in RFC 5987 form."""
    response = HttpResponse(printed.data, content_type=printed.content_type)
    response["Content-Disposition"] = content_disposition(printed.filename)
    return response


def target_of(data: Any) -> selectors.Target | None:
    """The Target a form or API body asks for; None when it is not one."""
    document = str(data.get("document", ""))
    scope = str(data.get("scope", ""))
    if document not in selectors.DOCUMENTS or scope not in selectors.SCOPES:
        return None
    key = {"student": "student", "class": "class_id", "grade": "grade"}.get(scope)
    year = str(data.get("year", "") or "")
    return selectors.Target(
        document=document,
        scope=scope,
        key=str(data.get(key, "") or "").strip() if key else "",
        year=int(year) if year.isdigit() and len(year) == 4 else None,
    )


@right_required(Right.REPORTS_PRINT)
def print_home_view(request: HttpRequest) -> HttpResponse:
    """打印中心: pick a document, a scope and a format."""
    user = request.user
    return render(
        request,
        "reports/printing/home.html",
        {
            "documents": list(selectors.DOCUMENTS.items()),
            "classes": selectors.printable_classes(user),
            "grades": selectors.printable_grades(user),
            "whole_school": selectors.printable_grades(user) != [],
            "student": request.GET.get("student", ""),
            "job": job_followed(request),
            "threshold": services.BATCH_THRESHOLD,
        },
    )


@right_required(Right.REPORTS_PRINT)
@require_POST
def print_make_view(request: HttpRequest) -> HttpResponse:
    """生成: a file for a small scope, a job (this page follows it) for a large one."""
    target = target_of(request.POST)
    fmt = request.POST.get("format", "pdf")
    if target is None or fmt not in services.FORMATS:
        messages.error(request, _("请选择要打印的文档和范围。"))
        return redirect("reports:print_home")
    try:
        started = services.print_start(
            request=request,
            target=target,
            fmt=fmt,
            school_name=request.tenant.name,  # type: ignore[attr-defined]
        )
    except selectors.NotFound:
        raise Http404 from None
    if started.printed is not None:
        return file_response(started.printed)
    messages.info(request, _("学生较多，正在后台生成，完成后点击“查看结果”下载。"))
    return redirect(reverse("reports:print_home") + f"?job={started.job_id}")


@right_required(Right.REPORTS_PRINT)
def print_download_view(request: HttpRequest, print_token: str) -> HttpResponse:
    """The file of a finished print job, for the account that asked for it only."""
    key = services.print_file_key(token=print_token, user_id=request.user.pk)  # type: ignore[arg-type]
    if key is None:
        raise Http404
    return redirect(default_storage.url(key))
