"""成绩导入 pages: choose a class (the cells the user may write this term), download its
template, upload → the dry-run report (every error with row and column) → confirm.
Right 成绩录入; which classes and courses is the grades app's cell rule."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import content_disposition, right_required
from tenant_apps.grades import imports
from tenant_apps.grades.terms import current_term
from tenant_apps.registry.imports.columns import UploadRejected
from tenant_apps.reports.gradestats.exports import XLSX


def _classes(request: HttpRequest) -> list[tuple[int, str]]:
    seen: dict[int, str] = {}
    for cell in imports.import_cells(user=request.user):
        seen.setdefault(cell.school_class_id, cell.school_class.name)
    return list(seen.items())


@right_required(Right.GRADES_ENTER)
@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest) -> HttpResponse:
    classes = _classes(request)
    report = None
    if request.method == "POST":
        class_id = (
            int(request.POST.get("class", "0") or 0)
            if request.POST.get("class", "").isdigit()
            else 0
        )
        upload = request.FILES.get("file")
        if class_id not in dict(classes):
            raise Http404
        if upload is None:
            messages.error(request, _("请选择要上传的文件。"))
        else:
            try:
                report = imports.dry_run(
                    user=request.user,
                    class_id=class_id,
                    filename=upload.name or "",
                    data=upload.read(),
                )
            except UploadRejected as exc:
                messages.error(request, exc.message)
            except ApplicationError as exc:
                messages.error(request, exc.message)
    return render(
        request,
        "reports/gradestats/import.html",
        {"classes": classes, "term": current_term(), "report": report},
    )


@right_required(Right.GRADES_ENTER)
def import_template_view(request: HttpRequest, class_id: int) -> HttpResponse:
    try:
        data = imports.template_build(user=request.user, class_id=class_id)
    except ApplicationError as exc:
        raise Http404 from exc
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition("成绩导入模板.xlsx")
    return response


@right_required(Right.GRADES_ENTER)
@require_POST
def import_confirm_view(request: HttpRequest) -> HttpResponse:
    try:
        done = imports.confirm(
            user=request.user, token=request.POST.get("token", ""), request=request
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("已导入%(klass)s的成绩：%(saved)d 项录入或修改，%(same)d 项未变。")
            % {"klass": done.class_name, "saved": done.saved, "same": done.unchanged},
        )
    return redirect("reports:grades_import")
