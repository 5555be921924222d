"""Pages of in-school status changes (学籍异动): apply on the student's page, the
school's list with filters, one change with its approval chain, the school decision and
withdrawal. Thin: registry.changes.services does the work."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.changes import selectors
from tenant_apps.registry.changes import services as changes
from tenant_apps.registry.changes.blockers import COMPULSORY_STAGES
from tenant_apps.registry.changes.moves import target_classes
from tenant_apps.registry.classes.selectors import class_list
from tenant_apps.registry.models import StatusChange, Student
from tenant_apps.registry.students.selectors import student_get


class ChangeForm(forms.Form):
    """Parses the page's strings; registry.changes.services decides what is required per kind."""

    change_date = forms.DateField(
        label=gettext_lazy("异动日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": gettext_lazy("日期格式应为 年-月-日。")},
    )
    reason_code = forms.CharField(label=gettext_lazy("异动原因"), required=False)
    reason_text = forms.CharField(
        label=gettext_lazy("异动说明"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )
    leave_from = forms.DateField(
        label=gettext_lazy("休学开始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": gettext_lazy("日期格式应为 年-月-日。")},
    )
    leave_to = forms.DateField(
        label=gettext_lazy("休学截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": gettext_lazy("日期格式应为 年-月-日。")},
    )
    target_status = forms.CharField(label=gettext_lazy("异动后学籍状态"), required=False)
    target_class = forms.IntegerField(
        label=gettext_lazy("转入班级"),
        required=False,
        error_messages={"invalid": gettext_lazy("请从列表中选择转入班级。")},
    )

    def as_input(self, kind: str) -> changes.ChangeInput:
        d = self.cleaned_data
        return changes.ChangeInput(
            kind=kind,
            change_date=d.get("change_date") or d.get("leave_from"),
            reason_code=d.get("reason_code", ""),
            reason_text=d.get("reason_text", ""),
            leave_from=d.get("leave_from"),
            leave_to=d.get("leave_to"),
            target_status=d.get("target_status", ""),
            target_class_id=d.get("target_class"),
        )


def _flash_error(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


def _uploads(request: HttpRequest) -> list[changes.Upload]:
    # At most one byte past the limit is read: enough for the size check to refuse it
    # by name, without holding an oversized upload in memory.
    return [
        changes.Upload(name=f.name or "evidence", data=f.read(changes.MAX_EVIDENCE_BYTES + 1))
        for f in request.FILES.getlist("files")
    ]


@right_required(Right.REGISTRY_EDIT)
@require_http_methods(["GET", "POST"])
def change_create_view(request: HttpRequest, student_id: object) -> HttpResponse:
    """办理学籍异动: choose the kind, see what blocks it, fill in and submit."""
    student = student_get(identifier=str(student_id))
    if student is None:
        raise Http404
    specs = changes.kinds_available()
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    spec = next((s for s in specs if s.kind == kind), None)
    blockers = changes.change_preview(student, spec.kind) if spec else []
    form = ChangeForm(request.POST or None)
    errors: dict[str, list[str]] = {}
    top = ""
    if request.method == "POST" and spec is not None and form.is_valid():
        try:
            change = changes.change_submit(
                student_id=student.pk,
                data=form.as_input(spec.kind),
                uploads=_uploads(request),
                actor=Actor.of(request.user),
            )
        except ApplicationError as exc:
            top, errors = exc.message, dict(exc.extra)
            if exc.code == "blocked":
                blockers = changes.change_preview(student, spec.kind)
        else:
            messages.success(
                request,
                _("已提交%(kind)s申请（%(number)s），等待学校审核。")
                % {"kind": spec.label, "number": change.case_number},
            )
            return redirect("registry:change_detail", change_id=change.pk)
    elif request.method == "POST" and spec is None:
        top = _("请选择异动类型。")
    for name, field_errors in form.errors.items():
        errors.setdefault(name, []).extend(field_errors)  # type: ignore[arg-type]
    return render(
        request,
        "registry/change_form.html",
        {
            "student": student,
            "specs": specs,
            "spec": spec,
            "blockers": blockers,
            "form": form,
            "errors": errors,
            "top": top,
            "statuses": Student.Status,
            "targets": [(s, Student.Status(s).label) for s in (spec.targets if spec else ())],
            "target_classes": list(target_classes(student, spec.moves))
            if spec and spec.moves
            else [],
            "warning": spec.warning
            if spec and spec.warning and student.school_class.stage in COMPULSORY_STAGES
            else "",
            "today": timezone.localdate(),
        },
    )


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@right_required(Right.REGISTRY_VIEW)
@require_GET
def change_list_view(request: HttpRequest) -> HttpResponse:
    p = request.GET
    kind = p.get("kind", "") if p.get("kind", "") in StatusChange.Kind.values else ""
    state = p.get("state", "") if p.get("state", "") in StatusChange.State.values else ""
    class_id = int(p["class_id"]) if p.get("class_id", "").isdigit() else None
    date_from, date_to = _date(p.get("from")), _date(p.get("to"))
    search = p.get("q", "").strip()
    qs = selectors.change_list(
        kind=kind,
        state=state,
        search=search,
        class_id=class_id,
        date_from=date_from,
        date_to=date_to,
    )
    page = Paginator(qs, 50).get_page(p.get("page"))
    cases = selectors.cases_of(list(page.object_list))
    rows = [{"change": c, "case": cases.get(c.case_id)} for c in page.object_list]  # type: ignore[arg-type]
    query = urlencode({k: v for k, v in p.items() if k != "page" and v})
    return render(
        request,
        "registry/change_list.html",
        {
            "page": page,
            "rows": rows,
            "kinds": StatusChange.Kind.choices,
            "states": StatusChange.State.choices,
            "classes": class_list(),
            "kind": kind,
            "state": state,
            "class_id": str(class_id or ""),
            "q": search,
            "date_from": p.get("from", ""),
            "date_to": p.get("to", ""),
            "query": query,
            "today": timezone.localdate(),
        },
    )


def _change_or_404(change_id: int) -> StatusChange:
    change = selectors.change_get(change_id)
    if change is None:
        raise Http404
    return change


@right_required(Right.REGISTRY_VIEW)
@require_GET
def change_detail_view(request: HttpRequest, change_id: int) -> HttpResponse:
    from shared_apps.transfers.selectors import case_steps_view

    change = _change_or_404(change_id)
    case = selectors.cases_of([change]).get(change.case_id) if change.case_id else None
    user = request.user
    rights = user.rights  # type: ignore[union-attr]
    at_school_step = case is not None and case.state == "open" and case.step == changes.SCHOOL_STEP
    return render(
        request,
        "registry/change_detail.html",
        {
            "change": change,
            "case": case,
            "steps": case_steps_view(case) if case else [],
            "history": [
                {"step": s, "who": selectors.actor_display(s.actor)} for s in case.steps.all()
            ]
            if case
            else [],
            "evidence": [
                {"item": e, "url": default_storage.url(e.file_key)} for e in change.evidence.all()
            ],
            "reason_line": changes.reason_line(change),
            "can_decide": at_school_step and Right.REGISTRY_APPROVE in rights,
            # 调班: no county step follows the school's.
            "school_is_last": case is not None and len(case.chain) == 1,
            "own": change.created_by == user.username,
            "can_withdraw": case is not None
            and case.state == "open"
            and Right.REGISTRY_EDIT in rights,
            "today": timezone.localdate(),
        },
    )


@right_required(Right.REGISTRY_APPROVE)
@require_POST
def change_decide_view(request: HttpRequest, change_id: int) -> HttpResponse:
    _change_or_404(change_id)
    decision = request.POST.get("decision", "")
    if decision not in {"approve", "reject"}:
        messages.error(request, _("请选择审核通过或退回。"))
        return redirect("registry:change_detail", change_id=change_id)
    try:
        change = changes.change_school_decide(
            change_id=change_id,
            approve=decision == "approve",
            reason=request.POST.get("reason", "").strip()[:300],
            **changes.actors_of(request.user),
        )
    except ApplicationError as exc:
        _flash_error(request, exc)
    else:
        if decision == "approve" and change.state == StatusChange.State.DONE:
            # 调班: the school's approval is the last step.
            messages.success(request, _("学校审核已通过，该学籍异动已生效。"))
        elif decision == "approve":
            messages.success(request, _("学校审核已通过，已报送教育局审核。"))
        else:
            messages.success(request, _("已退回该学籍异动申请，学生学籍状态不变。"))
    return redirect("registry:change_detail", change_id=change_id)


@right_required(Right.REGISTRY_EDIT)
@require_POST
def change_withdraw_view(request: HttpRequest, change_id: int) -> HttpResponse:
    _change_or_404(change_id)
    try:
        changes.change_withdraw(
            change_id=change_id,
            reason=request.POST.get("reason", "").strip()[:300],
            **changes.actors_of(request.user),
        )
    except ApplicationError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, _("已撤回该学籍异动申请，学生学籍状态不变。"))
    return redirect("registry:change_detail", change_id=change_id)
