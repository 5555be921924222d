"""照片采集 pages (domain.md §3.13): the school's photo page (completeness per class, photos
waiting for approval, the national export), and the single upload of one student: upload
→ normalise → the original and the national file side by side with every warning →
使用此照片 or 放弃. Every page needs 照片采集 (Right.PHOTOS_MANAGE): the school's photo
staff; class teachers never hold it (policy.PHOTO_FIELDS)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.jobs.links import job_followed
from tenant_apps.registry.models import Student
from tenant_apps.registry.photos import exports, selectors, services
from tenant_apps.registry.photos.normalise import PhotoSpec


def student_or_404(student_id: Any) -> Student:
    student = (
        Student.objects.select_related("school_class")
        .exclude(audit_state=Student.Audit.DELETED)
        .filter(identifier=student_id)
        .first()
    )
    if student is None:
        raise Http404
    return student


def _limits() -> dict[str, object]:
    spec = PhotoSpec.from_settings()
    return {
        "width": spec.width,
        "height": spec.height,
        "max_kb": spec.max_bytes // 1024,
        "max_upload_mb": spec.max_upload_bytes // (1024 * 1024),
    }


@right_required(Right.PHOTOS_MANAGE)
def photos_home_view(request: HttpRequest) -> HttpResponse:
    """照片采集: who has no photo yet, per class; family uploads waiting; the export."""
    classes = selectors.completeness()
    pupils = sum(c.pupils for c in classes)
    with_photo = sum(c.with_photo for c in classes)
    pending = list(selectors.photos_pending()[:200])
    return render(
        request,
        "registry/photos/home.html",
        {
            "classes": classes,
            "pupils": pupils,
            "with_photo": with_photo,
            "missing": pupils - with_photo,
            "pending": [(p, selectors.photo_url(p)) for p in pending],
            "banner": selectors.deadline_banner(today=timezone.localdate()),
            "job": job_followed(request),
            "limits": _limits(),
        },
    )


@right_required(Right.PHOTOS_MANAGE)
@require_http_methods(["GET", "POST"])
def photo_upload_view(request: HttpRequest, student_id: object) -> HttpResponse:
    student = student_or_404(student_id)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("photo")
        if upload is None:
            error = _("请选择一张照片（手机照片、JPEG、PNG 或 HEIC 均可）。")
        else:
            try:
                photo = services.photo_stage(
                    student_id=student.pk,
                    data=upload.read(),
                    name=upload.name or "",
                    actor=Actor.of(request.user),
                    request=request,
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                return redirect(
                    "registry:photo_preview", student_id=student.identifier, photo_id=photo.pk
                )
    current = selectors.photo_current(student_id=student.pk)
    return render(
        request,
        "registry/photos/upload.html",
        {
            "student": student,
            "current_url": selectors.photo_url(current),
            "error": error,
            "limits": _limits(),
        },
        status=400 if error else 200,
    )


@right_required(Right.PHOTOS_MANAGE)
def photo_preview_view(request: HttpRequest, student_id: object, photo_id: int) -> HttpResponse:
    """The original and the national file side by side, every warning, and the choice."""
    student = student_or_404(student_id)
    photo = selectors.photo_get(photo_id=photo_id, student_id=student.pk)
    if photo is None:
        raise Http404
    current = selectors.photo_current(student_id=student.pk)
    return render(
        request,
        "registry/photos/preview.html",
        {
            "student": student,
            "photo": photo,
            "photo_url": selectors.photo_url(photo),
            "original_url": selectors.photo_original_url(photo),
            "current_url": selectors.photo_url(current) if current and current != photo else "",
            "limits": _limits(),
            "kb": f"{photo.bytes / 1024:.1f}",
        },
    )


@right_required(Right.PHOTOS_MANAGE)
@require_POST
def photo_decide_view(request: HttpRequest, student_id: object, photo_id: int) -> HttpResponse:
    """使用此照片 (accept) or 放弃 (discard) a photo waiting for the school's decision."""
    student = student_or_404(student_id)
    action = request.POST.get("action", "")
    actor = Actor.of(request.user)
    try:
        if action == "accept":
            services.photo_accept(
                photo_id=photo_id, student_id=student.pk, actor=actor, request=request
            )
            messages.success(request, _("已采用新照片。"))
        elif action == "discard":
            services.photo_discard(
                photo_id=photo_id, student_id=student.pk, actor=actor, request=request
            )
            messages.info(request, _("已放弃这张照片，原照片不变。"))
        else:
            messages.error(request, _("请选择“使用此照片”或“放弃”。"))
            return redirect(
                "registry:photo_preview", student_id=student.identifier, photo_id=photo_id
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    if request.POST.get("next") == "photos":
        return redirect("registry:photos")
    return redirect("registry:student_detail", student_id=student.identifier)


@right_required(Right.PHOTOS_MANAGE)
@require_POST
def photo_export_view(request: HttpRequest) -> HttpResponse:
    """导出国家照片包: a job that makes the ZIP; the page follows its progress."""
    job_id = exports.photo_export_start(request=request)
    return redirect(f"{_home()}?job={job_id}")


@right_required(Right.PHOTOS_MANAGE)
def photo_export_download_view(request: HttpRequest, token: str) -> HttpResponse:
    """The ZIP of a finished export job, for the account that asked for it only."""
    from shared_apps.jobs.links import job_file_key

    key = job_file_key(token=token, salt=exports.EXPORT_LINK_SALT, user_id=request.user.pk)  # type: ignore[arg-type]
    if key is None:
        raise Http404
    return redirect(default_storage.url(key))


def _home() -> str:
    from django.urls import reverse

    return reverse("registry:photos")
