"""The 问题学籍 pages: the school's list of records the 查重 flagged, and the three things a
registrar does with one (delete it, re-run 查重 on its current data, upload evidence for the
bureau). Thin: registry.problems.services does the work."""

from __future__ import annotations

from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.reauth import PROBLEM_DELETE, sensitive
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.problems import services as problems
from tenant_apps.registry.problems.selectors import low_priority_list, problem_list
from tenant_apps.registry.students import services
from tenant_apps.registry.students.forms import student_raw
from tenant_apps.registry.students.selectors import student_get

PROBLEMS_PAGE_SIZE = 20  # each record carries its own forms: a short page stays usable


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user)


def _flash_error(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


@right_required(Right.REGISTRY_EDIT)
def problem_list_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(problem_list().order_by("-created_at", "-pk"), PROBLEMS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = []
    for problem in page.object_list:
        evidence = [
            {"item": e, "url": default_storage.url(e.file_key)} for e in problem.evidence.all()
        ]
        rows.append({"problem": problem, "evidence": evidence})
    low, low_total = low_priority_list(school_id=services.current_school().id)
    return render(
        request,
        "registry/problems.html",
        {"rows": rows, "page": page, "low": low, "low_total": low_total},
    )


def _back_to_problem(problem_id: int) -> HttpResponse:
    """Back to the record on the page that shows it (the list pages, newest first)."""
    newer = problem_list().filter(pk=problem_id).values_list("created_at", flat=True).first()
    page = 1
    if newer is not None:
        before = problem_list().filter(
            Q(created_at__gt=newer) | Q(created_at=newer, pk__gt=problem_id)
        )
        page = before.count() // PROBLEMS_PAGE_SIZE + 1
    suffix = f"?page={page}" if page > 1 else ""
    return redirect(reverse("registry:problems") + suffix + f"#p{problem_id}")


@right_required(Right.REGISTRY_EDIT)
@require_POST
@sensitive(PROBLEM_DELETE)
def problem_delete_view(request: HttpRequest, problem_id: int) -> HttpResponse:
    try:
        problems.problem_delete(
            problem_id=problem_id,
            reason=request.POST.get("reason", "").strip()[:200],
            actor=_actor(request),
        )
    except ApplicationError as exc:
        _flash_error(request, exc)
        return _back_to_problem(problem_id)
    messages.success(request, _("已删除该学籍，删除原因已记入学籍记录。"))
    return redirect("registry:problems")


@right_required(Right.REGISTRY_EDIT)
@require_POST
def problem_correct_view(request: HttpRequest, problem_id: int) -> HttpResponse:
    """变更: re-run 查重 on the student's current data, with the proof (户口簿 or ID copy)
    the correction rests on."""
    problem = problem_list(open_only=False).filter(pk=problem_id).first()
    if problem is None:
        raise Http404
    student = student_get(identifier=str(problem.student.identifier))
    if student is None:
        raise Http404
    raw = student_raw(student, services.student_snapshot(student))
    upload = request.FILES.get("file")
    try:
        problems.problem_correct(
            problem_id=problem_id,
            raw=raw,
            actor=_actor(request),
            proof_name=(upload.name or "proof") if upload is not None else "",
            proof_data=upload.read() if upload is not None else b"",
            note=request.POST.get("note", "").strip()[:300],
        )
    except ApplicationError as exc:
        _flash_error(request, exc)
        return _back_to_problem(problem_id)
    messages.success(
        request,
        _("“%(name)s”重新查重未发现重复，问题已解决。") % {"name": student.name},
    )
    return redirect("registry:problems")


@right_required(Right.REGISTRY_EDIT)
@require_POST
def problem_evidence_view(request: HttpRequest, problem_id: int) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择佐证文件（JPG、PNG 或 PDF）。"))
        return _back_to_problem(problem_id)
    try:
        problems.problem_evidence_upload(
            problem_id=problem_id,
            name=upload.name or "evidence",
            data=upload.read(),
            note=request.POST.get("note", "").strip()[:300],
            actor=_actor(request),
        )
    except ApplicationError as exc:
        _flash_error(request, exc)
        return _back_to_problem(problem_id)
    messages.success(request, _("佐证已上传，等待教育局审核。"))
    return _back_to_problem(problem_id)
