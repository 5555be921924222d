"""Pages of business cases on the school host: the school's transfers and case list and
the case page, with the helpers the bureau's pages share (transfers.bureau_views: the
same case page and decision) and the re-authentication rule of both hosts."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.fields import BooleanField

from accounts.reauth import TRANSFER_APPROVE, sensitive, submitted
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.transfers import documents, transfer
from shared_apps.transfers.lookups import LookupThrottled, lookup_guarded
from shared_apps.transfers.models import Case, CaseKind, CaseState
from shared_apps.transfers.selectors import (
    actor_labels,
    case_for_region,
    case_for_school,
    case_is_overdue,
    case_steps_view,
    case_waits_for_school,
    cases_for_school,
)
from shared_apps.transfers.services import (
    CaseActor,
    case_decide,
    case_detail_lines,
    case_withdraw,
    handed_over_collect,
)
from tenant_apps.registry import facade

# Approving these moves or ends a record: the password is entered again (accounts.reauth).
# Approving a move of a person between schools (a pupil's 转学, a teacher's 跨校转移)
# needs the password again.
REAUTH_KINDS = {
    CaseKind.TRANSFER,
    CaseKind.TRANSFER_OUT_EXTERNAL,
    CaseKind.TRANSFER_IN_EXTERNAL,
    CaseKind.TEACHER_TRANSFER,
}
BATCH_MAX = 500  # cases decided by one batch from the page
API_BATCH_MAX = 1000  # and through the API
CASES_PER_PAGE = 50  # a page of a school's cases or of the bureau's queue
DIRECTIONS = (
    ("waiting", gettext_noop("待本校办理")),
    ("incoming", gettext_noop("转入本校")),
    ("outgoing", gettext_noop("从本校转出")),
    ("in_school", gettext_noop("本校异动")),
    ("all", gettext_noop("全部")),
)


def _school_id(request: HttpRequest) -> int:
    return int(request.tenant.pk)  # type: ignore[attr-defined]


def _flash(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{filename}"
    return response


def _case_context(request: HttpRequest, case: Case, *, can_decide: bool) -> dict[str, Any]:
    today = timezone.localdate()
    evidence = transfer.evidence_url(case) if case.payload.get("evidence_key") else None
    history = list(case.steps.all())
    who = actor_labels([case.created_by, *(h.actor for h in history)])
    return {
        "case": case,
        "applicant": who[case.created_by],
        "steps": case_steps_view(case),
        "history": [(h, who[h.actor]) for h in history],
        "lines": case_detail_lines(case),
        "summary": case.summary,
        "overdue": case_is_overdue(case, today),
        "today": today,
        "can_decide": can_decide,
        "needs_reauth": case.kind in REAUTH_KINDS,
        "evidence_url": evidence,
        "current": case.current,
    }


# -- school host ------------------------------------------------------------------------


@right_required(Right.REGISTRY_VIEW)
@never_cache
def case_list_view(request: HttpRequest) -> HttpResponse:
    school_id = _school_id(request)
    direction = request.GET.get("direction") or "waiting"
    if direction not in dict(DIRECTIONS):
        direction = "waiting"
    state = request.GET.get("state") or ""
    if state not in CaseState.values:
        state = ""
    cases = cases_for_school(
        school_id, direction=None if direction == "all" else direction, state=state or None
    )
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [
        {
            "case": c,
            "mine": case_waits_for_school(c, school_id),
            "overdue": case_is_overdue(c, today),
        }
        for c in page.object_list
    ]
    return render(
        request,
        "transfers/case_list.html",
        {
            "rows": rows,
            "page": page,
            "query": urlencode(
                {k: v for k, v in (("direction", direction), ("state", state)) if v}
            ),
            "direction": direction,
            "directions": DIRECTIONS,
            "state": state,
            "states": CaseState.choices,
            "can_start": request.user.has_right(Right.REGISTRY_EDIT),  # type: ignore[union-attr]
        },
    )


@right_required(Right.REGISTRY_EDIT)
@never_cache
@require_http_methods(["GET", "POST"])
def transfer_start_view(request: HttpRequest) -> HttpResponse:
    """Receiving school: find the student anywhere on the platform, then apply."""
    school_id = _school_id(request)
    found: list[transfer.Found] = []
    form = {
        "name": request.POST.get("name", request.GET.get("name", "")).strip(),
        "id_number": request.POST.get("id_number", "").strip(),
        "national_number": request.POST.get("national_number", "").strip(),
    }
    searched = False
    if request.method == "POST" and request.POST.get("action") == "start":
        try:
            case = transfer.transfer_start(
                actor=Actor.of(request.user),
                sending_school_id=int(request.POST.get("sending_school_id") or 0),
                student_uuid=request.POST.get("student_uuid", ""),
                target_class_id=int(request.POST.get("target_class") or 0),
                reason=request.POST.get("reason", ""),
            )
        except (ApplicationError, ValueError) as exc:
            if isinstance(exc, ValueError):
                exc = ApplicationError(_("请选择转入班级。"))
            _flash(request, exc)
        else:
            messages.success(
                request,
                _("转学申请已提交（%(number)s），等待%(owner)s办理。")
                % {"number": case.number, "owner": case.chain[0]["owner_name"]},
            )
            return redirect("transfers:case_detail", case_id=case.pk)
    throttled = False
    if request.method == "POST":
        searched = True
        try:
            found = list(
                lookup_guarded(
                    request,
                    kind="transfer",
                    asked=form,
                    run=lambda: transfer.transfer_lookup(requesting_school_id=school_id, **form),
                )
            )
        except ApplicationError as exc:
            _flash(request, exc)
            searched = False
            throttled = isinstance(exc, LookupThrottled)
    classes = facade.class_options(schema_name=connection.schema_name)
    return render(
        request,
        "transfers/start.html",
        {"found": found, "form": form, "searched": searched, "classes": classes},
        status=429 if throttled else 200,
    )


@right_required(Right.REGISTRY_EDIT)
@never_cache
@require_http_methods(["GET", "POST"])
def external_out_view(request: HttpRequest, student_id: uuid.UUID) -> HttpResponse:
    """Sending school: transfer one of its students out of the platform."""
    schema = connection.schema_name
    student = facade.student_card(schema_name=schema, identifier=student_id)
    if student is None:
        raise Http404
    if request.method == "POST":
        try:
            case = transfer.external_out_start(
                actor=Actor.of(request.user),
                student_uuid=student.identifier,
                destination=request.POST.get("destination", ""),
                destination_region=request.POST.get("destination_region", ""),
                reason=request.POST.get("reason", ""),
            )
        except ApplicationError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("转出申请已提交（%(number)s）。") % {"number": case.number})
            return redirect("transfers:case_detail", case_id=case.pk)
    blockers = facade.student_blockers_of(
        schema_name=schema, identifier=student.identifier, kind="TRANSFER_OUT_EXTERNAL"
    )
    return render(
        request,
        "transfers/external_out.html",
        {"student": student, "blockers": blockers, "data": request.POST},
    )


@right_required(Right.REGISTRY_EDIT)
@never_cache
@require_http_methods(["GET", "POST"])
def external_in_view(request: HttpRequest) -> HttpResponse:
    """Receiving school: attach the proof of a transfer from outside to a student just
    entered through 新增学生, and start its audit."""
    drafts = facade.draft_cards(schema_name=connection.schema_name, limit=200)
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is not None and upload.size > 2 * 1024 * 1024 + 1:  # type: ignore[operator]
                raise ApplicationError(_("转学证明材料不能超过2MB。"), code="upload")
            case = transfer.external_in_register(
                actor=Actor.of(request.user),
                student_id=int(request.POST.get("student_id") or 0),
                origin_school=request.POST.get("origin_school", ""),
                origin_region=request.POST.get("origin_region", ""),
                reason=request.POST.get("reason", ""),
                evidence=transfer.Upload(
                    name=upload.name if upload else "",  # type: ignore[arg-type]
                    data=upload.read() if upload else b"",
                ),
            )
        except ApplicationError as exc:
            _flash(request, exc)
        else:
            messages.success(
                request, _("省外转入已登记（%(number)s），等待学校审核。") % {"number": case.number}
            )
            return redirect("transfers:case_detail", case_id=case.pk)
    return render(request, "transfers/external_in.html", {"drafts": drafts, "data": request.POST})


def _school_case(request: HttpRequest, case_id: uuid.UUID) -> Case:
    case = case_for_school(_school_id(request), case_id)
    if case is None:
        raise Http404
    return case


@right_required(Right.REGISTRY_VIEW)
@never_cache
def case_detail_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _school_case(request, case_id)
    school_id = _school_id(request)
    user = request.user
    context = _case_context(
        request,
        case,
        can_decide=case_waits_for_school(case, school_id)
        and user.has_right(Right.REGISTRY_APPROVE),  # type: ignore[union-attr]
    )
    context["can_withdraw"] = (
        case.state == CaseState.OPEN
        and case.school_id == school_id
        and user.has_right(Right.REGISTRY_EDIT)  # type: ignore[union-attr]
    )
    context["can_certificate"] = (
        case.kind == CaseKind.TRANSFER_OUT_EXTERNAL
        and case.state == CaseState.DONE
        and case.school_id == school_id
    )
    context["decide_url"] = reverse("transfers:case_decide", kwargs={"case_id": case.pk})
    context["letter_url"] = reverse("transfers:case_letter", kwargs={"case_id": case.pk})
    context["back_url"] = reverse("transfers:case_list")
    return render(request, "transfers/case_detail.html", context)


def _decide(request: HttpRequest, case: Case, back: str) -> HttpResponse:
    decision = request.POST.get("decision")
    step = request.POST.get("step")
    try:
        with handed_over_collect() as handed:
            case = case_decide(
                case_id=case.pk,
                actor=CaseActor.of(request.user),
                approve=decision == "approve",
                reason=request.POST.get("reason", ""),
                step=int(step) if step and step.lstrip("-").isdigit() else None,
            )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        if handed:
            # An initial password is shown in this answer only: no redirect, nothing kept
            # in the session, not cached.
            response = render(
                request,
                "transfers/case_handed_over.html",
                {"case": case, "handed": handed, "back_url": back},
            )
            response["Cache-Control"] = "no-store"
            return response
        if case.state == CaseState.DONE:
            messages.success(request, _("审核通过，业务已办结。"))
        elif case.state == CaseState.REJECTED:
            messages.success(request, _("已退回。"))
        else:
            messages.success(request, _("审核通过，已转下一环节。"))
    return redirect(back)


def approves_a_transfer(request: Any, kwargs: dict[str, Any]) -> bool:
    """When deciding a case needs the password again (accounts.reauth.TRANSFER_APPROVE,
    for the pages and APIs of both hosts alike): the request approves (page:
    decision=approve; API: approve=true) the case of its case_id, of REAUTH_KINDS, that
    the caller can see. Other decisions do not. Cases are decided one at a time on both
    hosts (no batch approval of transfers, domain.md §3.5), so a request names one case."""
    data = submitted(request)
    approve = data.get("approve")
    if data.get("decision") != "approve" and approve not in BooleanField.TRUE_VALUES:
        return False
    if "case_id" not in kwargs:
        return False
    if connection.schema_name == "public":
        region = getattr(request.user, "region_id", None)
        case = case_for_region(str(region), str(kwargs["case_id"])) if region else None
    else:
        case = case_for_school(_school_id(request), str(kwargs["case_id"]))
    return case is not None and case.kind in REAUTH_KINDS


@right_required(Right.REGISTRY_APPROVE)
@require_POST
@sensitive(TRANSFER_APPROVE)
def case_decide_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _school_case(request, case_id)
    back = reverse("transfers:case_detail", kwargs={"case_id": case.pk})
    return _decide(request, case, back)


@right_required(Right.REGISTRY_EDIT)
@require_POST
def case_withdraw_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _school_case(request, case_id)
    try:
        case_withdraw(
            case_id=case.pk, actor=CaseActor.of(request.user), reason=request.POST.get("reason", "")
        )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("申请已撤回。"))
    return redirect("transfers:case_detail", case_id=case.pk)


@right_required(Right.REGISTRY_VIEW)
@never_cache
def case_letter_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _school_case(request, case_id)
    issuer = str(request.tenant.name)  # type: ignore[attr-defined]
    return _pdf(documents.letter_pdf(case, issuer=issuer), f"{case.number}.pdf")


@right_required(Right.REGISTRY_VIEW)
@never_cache
def case_certificate_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _school_case(request, case_id)
    if case.school_id != _school_id(request):
        raise Http404
    try:
        data = documents.certificate_pdf(case)
    except ApplicationError as exc:
        _flash(request, exc)
        return redirect("transfers:case_detail", case_id=case.pk)
    return _pdf(data, f"{case.payload.get('certificate_no', case.number)}.pdf")
