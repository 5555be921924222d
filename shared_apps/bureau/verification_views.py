"""国家校验结果导入 page: upload the national system's result file, read the dry run per
school, confirm. Thin: bureau.verification does the work. The previewed file waits in
the cache (under the officer's id and a token) until it is confirmed. Also a school's
deleted records, masked, for the county."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.bureau import verification
from shared_apps.bureau.selectors import access_school
from tenant_apps.registry import facade as registry

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PREVIEW_SECONDS = 30 * 60


def _cache_key(request: HttpRequest, token: str) -> str:
    return f"bureau:national-check:{request.user.pk}:{token}"


def _flash(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_http_methods(["GET", "POST"])
def verification_view(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST action=preview (with the file): the dry run.
    POST action=confirm (with the preview's token and digest): apply, then back here."""
    if request.method == "GET":
        return render(request, "bureau/verification.html", {"plan": None})
    user = request.user
    if request.POST.get("action") == "confirm":
        token = request.POST.get("token", "")
        stored = cache.get(_cache_key(request, token)) if token else None
        if stored is None:
            messages.error(request, _("预览已过期，请重新上传校验结果文件。"))
            return redirect("bureau:verification")
        filename, data = stored
        try:
            plan = verification.confirm(
                user=user,  # type: ignore[arg-type]
                filename=filename,
                data=data,
                digest=request.POST.get("digest", ""),
                request=request,
            )
        except ApplicationError as exc:
            _flash(request, exc)
            return redirect("bureau:verification")
        cache.delete(_cache_key(request, token))
        messages.success(
            request,
            _("已导入国家校验结果：%(v)s人通过校验并分配正式学籍号，%(p)s人转为问题学籍。")
            % {"v": plan.verified, "p": plan.problems},
        )
        return redirect("bureau:verification")
    file = request.FILES.get("file")
    if file is None:
        messages.error(request, _("请选择国家校验结果文件。"))
        return redirect("bureau:verification")
    if file.size and file.size > MAX_UPLOAD_BYTES:
        messages.error(request, _("文件超过20MB，请拆分后分批上传。"))
        return redirect("bureau:verification")
    data, filename = file.read(), file.name or "upload"
    try:
        plan = verification.preview(user=user, filename=filename, data=data)  # type: ignore[arg-type]
    except ApplicationError as exc:
        _flash(request, exc)
        return redirect("bureau:verification")
    token = secrets.token_urlsafe(16)
    cache.set(_cache_key(request, token), (filename, data), PREVIEW_SECONDS)
    return render(
        request,
        "bureau/verification.html",
        {"plan": plan, "token": token, "filename": filename},
    )


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_http_methods(["GET"])
def school_deleted_view(request: HttpRequest, school_id: int) -> HttpResponse:
    """A school's deleted records, masked (domain §3.4: the county still sees them);
    masked like the admissions diff, so not a reveal to audit."""
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None:
        raise Http404
    total, records = registry.deleted_records(schema_name=school.schema_name)
    return render(
        request,
        "bureau/school_deleted.html",
        {"school": school, "total": total, "records": records},
    )
