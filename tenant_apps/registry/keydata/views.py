"""Pages of 关键数据变更: apply from the student's page, the school's list, one application
with its chain, the school decision and withdrawal. Thin: registry.keydata.services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.changes import selectors as change_selectors
from tenant_apps.registry.changes.services import MAX_EVIDENCE_BYTES, Upload, actors_of
from tenant_apps.registry.codes import table
from tenant_apps.registry.fields import BY_KEY
from tenant_apps.registry.keydata import selectors
from tenant_apps.registry.keydata import services as keydata
from tenant_apps.registry.models import KeyDataChange
from tenant_apps.registry.students.forms import student_raw
from tenant_apps.registry.students.selectors import student_get
from tenant_apps.registry.students.services import student_snapshot


def _uploads(request: HttpRequest) -> list[Upload]:
    # One byte past the limit at most: enough for the size check to refuse it by name.
    return [
        Upload(name=f.name or "evidence", data=f.read(MAX_EVIDENCE_BYTES + 1))
        for f in request.FILES.getlist("files")
    ]


def _fields(
    current: dict[str, str], typed: dict[str, str], errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The form's rows: each key field with its current value and the new one typed."""
    rows = []
    for key in keydata.key_fields():
        col = BY_KEY[key]
        choices = table(col.code_table).labels.items() if col.code_table else ()
        rows.append(
            {
                "key": key,
                "label": col.header,
                "current": keydata.shown(key, current.get(key, ""), school=True),
                "value": typed.get(key, current.get(key, "")),
                "kind": "select" if choices else "text",
                "placeholder": "YYYYMMDD" if col.kind == "date8" else "",
                "choices": list(choices),
                "errors": errors.get(key, []),
            }
        )
    return rows


@right_required(Right.REGISTRY_EDIT)
@require_http_methods(["GET", "POST"])
def keydata_create_view(request: HttpRequest, student_id: object) -> HttpResponse:
    """办理关键数据变更: the key fields with their current values, the new ones, the reason
    and the proof."""
    student = student_get(identifier=str(student_id))
    if student is None:
        raise Http404
    current = student_raw(student, student_snapshot(student))
    pending = selectors.keydata_open_of(student.pk)
    blockers = [] if pending else keydata.keydata_preview(student)
    typed: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    top = ""
    if request.method == "POST":
        # A field the form did not send keeps its value (the service changes only what
        # differs).
        typed = {k: request.POST[k].strip() for k in keydata.key_fields() if k in request.POST}
        try:
            change = keydata.keydata_submit(
                student_id=student.pk,
                values=typed,
                reason=request.POST.get("reason", ""),
                uploads=_uploads(request),
                actor=Actor.of(request.user),
            )
        except ApplicationError as exc:
            top, errors = exc.message, dict(exc.extra)
        else:
            messages.success(
                request,
                _("已提交关键数据变更申请（%(number)s），等待学校审核。")
                % {"number": change.case_number},
            )
            return redirect("registry:keydata_detail", keydata_id=change.pk)
    return render(
        request,
        "registry/keydata_form.html",
        {
            "student": student,
            "pending": pending,
            "blockers": blockers,
            "fields": _fields(current, typed, errors),
            "reason": request.POST.get("reason", ""),
            "errors": errors,
            "top": top,
        },
    )


@right_required(Right.REGISTRY_VIEW)
@require_GET
def keydata_list_view(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    state = state if state in KeyDataChange.State.values else ""
    search = request.GET.get("q", "").strip()
    page = Paginator(selectors.keydata_list(state=state, search=search), 50).get_page(
        request.GET.get("page")
    )
    rows = [{"change": c, "fields": keydata.field_labels(c.values)} for c in page.object_list]
    return render(
        request,
        "registry/keydata_list.html",
        {
            "page": page,
            "rows": rows,
            "states": KeyDataChange.State.choices,
            "state": state,
            "q": search,
        },
    )


def _or_404(change_id: int) -> KeyDataChange:
    change = selectors.keydata_get(change_id)
    if change is None:
        raise Http404
    return change


@right_required(Right.REGISTRY_VIEW)
@require_GET
def keydata_detail_view(request: HttpRequest, keydata_id: int) -> HttpResponse:
    from shared_apps.transfers.models import Case
    from shared_apps.transfers.selectors import case_steps_view

    change = _or_404(keydata_id)
    case = (
        Case.objects.prefetch_related("steps").filter(pk=change.case_id).first()
        if change.case_id
        else None
    )
    rights = request.user.rights  # type: ignore[union-attr]
    at_school = case is not None and case.state == "open" and case.step == keydata.SCHOOL_STEP
    return render(
        request,
        "registry/keydata_detail.html",
        {
            "change": change,
            "case": case,
            "values": [
                {
                    "label": BY_KEY[k].header if k in BY_KEY else k,
                    "old": keydata.shown(k, old, school=True),
                    "new": keydata.shown(k, new, school=True),
                }
                for k, (old, new) in change.values.items()
            ],
            "steps": case_steps_view(case) if case else [],
            "history": [
                {"step": s, "who": change_selectors.actor_display(s.actor)}
                for s in case.steps.all()
            ]
            if case
            else [],
            "evidence": [
                {"item": e, "url": default_storage.url(e.file_key)} for e in change.evidence.all()
            ],
            "can_decide": at_school and Right.REGISTRY_APPROVE in rights,
            "own": change.created_by == request.user.username,
            "can_withdraw": case is not None
            and case.state == "open"
            and Right.REGISTRY_EDIT in rights,
            "today": timezone.localdate(),
        },
    )


def _flash(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


@right_required(Right.REGISTRY_APPROVE)
@require_POST
def keydata_decide_view(request: HttpRequest, keydata_id: int) -> HttpResponse:
    _or_404(keydata_id)
    decision = request.POST.get("decision", "")
    if decision not in {"approve", "reject"}:
        messages.error(request, _("请选择审核通过或退回。"))
        return redirect("registry:keydata_detail", keydata_id=keydata_id)
    try:
        keydata.keydata_school_decide(
            change_id=keydata_id,
            approve=decision == "approve",
            reason=request.POST.get("reason", "").strip()[:300],
            **actors_of(request.user),
        )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(
            request,
            _("学校审核已通过，已报送教育局审核。")
            if decision == "approve"
            else _("已退回该关键数据变更申请，学生信息不变。"),
        )
    return redirect("registry:keydata_detail", keydata_id=keydata_id)


@right_required(Right.REGISTRY_EDIT)
@require_POST
def keydata_withdraw_view(request: HttpRequest, keydata_id: int) -> HttpResponse:
    _or_404(keydata_id)
    try:
        keydata.keydata_withdraw(
            change_id=keydata_id,
            reason=request.POST.get("reason", "").strip()[:300],
            **actors_of(request.user),
        )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已撤回该关键数据变更申请，学生信息不变。"))
    return redirect("registry:keydata_detail", keydata_id=keydata_id)
