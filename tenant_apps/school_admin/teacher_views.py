"""Pages of 教师信息管理 on a school's host: the list with search, add, edit,
离职/恢复, the Excel template, import (dry-run report, then confirmation) and export.
Thin: reads and writes go through registry.teachers.services (the workbooks through
registry.teachers.workbook); a refusal shows its Chinese
message next to the field it names."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.audit import READ_EXPORT, audit_record
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_phone
from common.views import right_required
from tenant_apps.registry.models.teachers import SERVING_STATUSES, Teacher, TeacherStatus
from tenant_apps.registry.teachers import services as teachers
from tenant_apps.registry.teachers import transfer as teacher_transfer
from tenant_apps.registry.teachers import workbook as teacher_workbook
from tenant_apps.school_admin.views import _actor, _errors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SESSION_KEY = "teacher_import"
FIELDS = [c.key for c in teachers.TEACHER_COLUMNS]
PAGE_SIZE = 30  # the student list's page size


def _posted(request: HttpRequest) -> dict[str, str]:
    return {key: request.POST.get(key, "") for key in FIELDS}


def _form_context(
    *, posted: dict[str, str], errors: dict[str, list[str]], **extra: Any
) -> dict[str, Any]:
    """One entry per template column: what the form shows and what was refused."""
    fields = [
        {
            "key": c.key,
            "label": c.header,
            "required": c.required,
            "value": posted.get(c.key, ""),
            "errors": errors.get(c.key, []),
            "choices": teachers.CHOICES.get(c.key),
            "max_length": c.max_length,
        }
        for c in teachers.TEACHER_COLUMNS
    ]
    return {"fields": fields, "errors": errors, **extra}


@right_required(Right.TEACHERS_MANAGE)
@require_GET
def teachers_view(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "serving")
    # Paged as the student list is; the pager's links carry the search and the filter.
    page = Paginator(teachers.teacher_list(q=q, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "teacher": t,
            "id_number": mask_id_number(t.id_number) if t.id_number else "",
            "phone": mask_phone(t.phone) if t.phone else "",
            "serving": t.status in SERVING_STATUSES,
        }
        for t in page.object_list
    ]
    return render(
        request,
        "school_admin/teachers.html",
        {
            "rows": rows,
            "page": page,
            "query": urlencode({k: v for k, v in {"q": q, "status": status}.items() if v}),
            "can_reset": request.user.has_right(Right.USERS_MANAGE),  # type: ignore[union-attr]
            "q": q,
            "status": status,
            "statuses": TeacherStatus.choices,
            "serving_count": Teacher.objects.filter(status__in=SERVING_STATUSES).count(),
        },
    )


@right_required(Right.TEACHERS_MANAGE)
@require_http_methods(["GET", "POST"])
def teacher_create_view(request: HttpRequest) -> HttpResponse:
    posted = {key: teachers.DEFAULTS.get(key, "") for key in FIELDS}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        posted = _posted(request)
        try:
            teacher = teachers.teacher_create(data=posted, actor=_actor(request), request=request)
        except ApplicationError as exc:
            errors = _errors(exc)
            messages.error(request, _("教师信息有误，请按提示修改。"))
        else:
            messages.success(request, _("已新增教师%(name)s。") % {"name": teacher})
            return redirect("school_admin:teachers")
    return render(
        request,
        "school_admin/teacher_form.html",
        _form_context(posted=posted, errors=errors, teacher=None),
    )


@right_required(Right.TEACHERS_MANAGE)
@require_http_methods(["GET", "POST"])
def teacher_edit_view(request: HttpRequest, teacher_id: int) -> HttpResponse:
    teacher = teachers.teacher_get(teacher_id)
    if teacher is None:
        return render(request, "404.html", status=404)
    posted = {key: str(getattr(teacher, key) or "") for key in FIELDS}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        posted = _posted(request)
        try:
            teachers.teacher_update(
                teacher_id=teacher.pk, data=posted, actor=_actor(request), request=request
            )
        except ApplicationError as exc:
            errors = _errors(exc)
            messages.error(request, _("教师信息有误，请按提示修改。"))
        else:
            messages.success(request, _("教师%(name)s的信息已保存。") % {"name": teacher.name})
            return redirect("school_admin:teachers")
    return render(
        request,
        "school_admin/teacher_form.html",
        _form_context(
            posted=posted,
            errors=errors,
            teacher=teacher,
            serving=teacher.status in SERVING_STATUSES,
            inactive_choices=teachers.INACTIVE_CHOICES,
        ),
    )


@right_required(Right.TEACHERS_MANAGE)
@require_POST
def teacher_deactivate_view(request: HttpRequest, teacher_id: int) -> HttpResponse:
    try:
        teacher = teachers.teacher_deactivate(
            teacher_id=teacher_id,
            status=request.POST.get("status", ""),
            note=request.POST.get("note", ""),
            disable_account=bool(request.POST.get("disable_account")),
            actor=_actor(request),
            actor_user=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("school_admin:teachers")
    messages.success(
        request,
        _("教师%(name)s已改为“%(status)s”，记录保留。")
        % {"name": teacher.name, "status": teacher.get_status_display()},
    )
    return redirect("school_admin:teachers")


@right_required(Right.TEACHERS_MANAGE)
@require_POST
def teacher_reactivate_view(request: HttpRequest, teacher_id: int) -> HttpResponse:
    try:
        teacher = teachers.teacher_reactivate(
            teacher_id=teacher_id, actor=_actor(request), request=request
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("教师%(name)s已恢复在职。") % {"name": teacher.name})
    return redirect("school_admin:teachers")


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


@right_required(Right.TEACHERS_MANAGE)
@require_GET
def teacher_export_view(request: HttpRequest) -> HttpResponse:
    """The list as filtered on the page, ID numbers and phones masked."""
    q, status = request.GET.get("q", ""), request.GET.get("status", "serving")
    rows = list(teachers.teacher_list(q=q, status=status))
    audit_record(
        request=request,
        action=READ_EXPORT,
        object_type="teacher",
        object_repr=f"导出教师名单 {len(rows)} 名",
    )
    stamp = timezone.localtime().strftime("%Y%m%d")
    return _xlsx(teacher_workbook.teachers_export(rows), f"teachers-{stamp}.xlsx")


def _report_context(report: teacher_workbook.TeacherDryRun, filename: str) -> dict[str, Any]:
    return {
        "filename": filename,
        "counts": report.counts,
        # A school's staff list is short: every error is listed (no annotated file).
        "errors": report.errors,
        "headers_unknown": report.headers_unknown,
        "modes": {
            "VALID_ONLY": teacher_workbook.MODE_VALID_ONLY,
            "ALL_OR_NOTHING": teacher_workbook.MODE_ALL_OR_NOTHING,
        },
    }


@right_required(Right.TEACHERS_MANAGE)
@require_http_methods(["GET", "POST"])
def teacher_import_view(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: the dry run's report; the file waits in storage
    (its key in the session) until it is confirmed or replaced."""
    if request.method == "GET":
        return render(request, "school_admin/teacher_import.html", {"errors": {}})
    upload = request.FILES.get("file")
    if upload is None:
        message = _("文件：请选择要上传的文件。")
        return render(request, "school_admin/teacher_import.html", {"errors": {"file": [message]}})
    name, data = upload.name or "upload.xlsx", upload.read()
    try:
        report = teacher_workbook.teachers_dry_run(name=name, data=data)
    except ApplicationError as exc:
        return render(request, "school_admin/teacher_import.html", {"errors": _errors(exc)})
    old = request.session.pop(SESSION_KEY, None)
    if old:
        teacher_workbook.teachers_upload_take(old["key"])
    if report.rows:
        key = teacher_workbook.teachers_upload_keep(name=name, data=data)
        request.session[SESSION_KEY] = {"key": key, "name": name[:200]}
    return render(request, "school_admin/teacher_import_report.html", _report_context(report, name))


@right_required(Right.TEACHERS_MANAGE)
@require_POST
def teacher_import_confirm_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(SESSION_KEY)
    data = teacher_workbook.teachers_upload_take(pending["key"]) if pending else None
    if pending is None or data is None:
        request.session.pop(SESSION_KEY, None)
        messages.error(request, _("没有待确认的导入，请重新上传文件。"))
        return redirect("school_admin:teacher_import")
    try:
        report = teacher_workbook.teachers_import(
            name=pending["name"],
            data=data,
            mode=request.POST.get("mode", ""),
            acknowledge_headers=bool(request.POST.get("acknowledge_headers")),
            actor=_actor(request),
            request=request,
        )
    except ApplicationError as exc:
        # The file is kept for another try (another mode, the acknowledgement).
        request.session[SESSION_KEY] = {
            "key": teacher_workbook.teachers_upload_keep(name=pending["name"], data=data),
            "name": pending["name"],
        }
        messages.error(request, exc.message)
        again = teacher_workbook.teachers_dry_run(name=pending["name"], data=data)
        return render(
            request,
            "school_admin/teacher_import_report.html",
            _report_context(again, pending["name"]),
        )
    request.session.pop(SESSION_KEY, None)
    messages.success(
        request,
        _("已导入 %(n)s 名教师；有误的 %(bad)s 行没有导入。")
        % {"n": len(report.rows), "bad": report.invalid_rows},
    )
    return redirect("school_admin:teachers")


@right_required(Right.TEACHERS_MANAGE)
@require_POST
def teacher_transfer_view(request: HttpRequest, teacher_id: int) -> HttpResponse:
    """跨校转移: open the case; the two schools' approvers decide it under 异动业务."""
    try:
        case = teacher_transfer.teacher_transfer_start(
            teacher_id=teacher_id,
            to_school_code=request.POST.get("to_school_code", ""),
            mode=request.POST.get("mode", ""),
            reason=request.POST.get("reason", ""),
            actor=_actor(request),
            open_account=bool(request.POST.get("open_account")),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        if exc.code == "not_found":
            return redirect("school_admin:teachers")
        return redirect("school_admin:teacher_edit", teacher_id=teacher_id)
    messages.success(
        request,
        _("已提交跨校转移申请（%(number)s），待本校和调入学校审核。") % {"number": case.number},
    )
    return redirect(reverse("transfers:case_detail", kwargs={"case_id": case.pk}))
