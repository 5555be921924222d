"""Pages of business cases on the public host: the bureau's queue with batch approval
(one case_decide per case, or a background job for "all matching") and the case page,
which is the school's (transfers.views) shown for the bureau's region."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.audit import audit_describe
from accounts.reauth import TRANSFER_APPROVE, sensitive
from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.transfers import bulk, documents
from shared_apps.transfers.models import Case, CaseKind
from shared_apps.transfers.selectors import (
    case_for_region,
    case_is_overdue,
    case_waits_for_region,
    cases_for_region,
)
from shared_apps.transfers.services import CaseActor, case_decide
from shared_apps.transfers.views import (
    BATCH_MAX,
    CASES_PER_PAGE,
    _case_context,
    _decide,
    _flash,
    _pdf,
)


def _region(request: HttpRequest) -> str:
    region = getattr(request.user, "region_id", None)
    if not region:
        raise Http404
    return str(region)


def _bureau_case(request: HttpRequest, case_id: uuid.UUID) -> Case:
    case = case_for_region(_region(request), case_id)
    if case is None:
        raise Http404
    return case


def _bureau_filters(request: HttpRequest) -> dict[str, Any]:
    kind = request.GET.get("kind") or ""
    school = request.GET.get("school") or ""
    overdue = request.GET.get("overdue") or ""
    waiting = request.GET.get("waiting", "1")
    return {
        "kind": kind if kind in CaseKind.values else "",
        "school": int(school) if school.isdigit() else None,
        "overdue": {"1": True, "0": False}.get(overdue),
        "waiting": waiting == "1",
    }


@right_required(Right.BUREAU_AUDIT)
@never_cache
def bureau_case_list_view(request: HttpRequest) -> HttpResponse:
    from shared_apps.bureau.selectors import access_schools
    from shared_apps.jobs.links import job_followed

    region = _region(request)
    f = _bureau_filters(request)
    cases = cases_for_region(
        region,
        kind=f["kind"] or None,
        school_id=f["school"],
        overdue=f["overdue"],
        waiting=f["waiting"],
    )
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [
        {
            "case": c,
            "mine": case_waits_for_region(c, region),
            "batchable": bulk.batchable(c),
            "overdue": case_is_overdue(c, today),
        }
        for c in page.object_list
    ]
    query = urlencode({k: v for k, v in request.GET.items() if k not in ("page", "job")})
    job = job_followed(request)
    flt = bulk.CaseFilter(kind=f["kind"], school=f["school"], overdue=f["overdue"])
    if f["waiting"]:  # the list read is already the queue's; no second read
        matching = sum(1 for c in cases if case_waits_for_region(c, region) and bulk.batchable(c))
    else:
        matching = len(bulk.cases_matching(region=region, flt=flt))
    return render(
        request,
        "transfers/bureau_cases.html",
        {
            "rows": rows,
            "page": page,
            "filters": f,
            "kinds": CaseKind.choices,
            "schools": list(access_schools(user=request.user).values_list("pk", "name")),  # type: ignore[arg-type]
            "query": query,
            "results": request.session.pop("case_batch_results", None),
            "job": job,
            # 全选符合条件的 N 件: only the cases at this bureau's step can be decided.
            "matching": matching,
        },
    )


def _batch_all_matching(request: HttpRequest) -> HttpResponse:
    """全选符合条件的 N 件: the posted filter (never ids) goes to a background job."""
    flt = bulk.CaseFilter.of(request.POST)
    back = reverse("transfers:bureau_cases")
    try:
        started = bulk.cases_decide_start(
            user=request.user,
            flt=flt,
            approve=request.POST.get("decision") == "approve",
            reason=request.POST.get("reason", ""),
        )
    except ApplicationError as exc:
        _flash(request, exc)
        return redirect(back + "?" + request.GET.urlencode())
    messages.info(
        request, _("正在办理符合条件的 %(n)s 件业务，进度见下方。") % {"n": started.matching}
    )
    return redirect(back + "?" + flt.query(job=started.job_id))


def _batch(request: HttpRequest) -> HttpResponse:
    if request.POST.get("all_matching") == "1":
        return _batch_all_matching(request)
    region = _region(request)
    approve = request.POST.get("decision") == "approve"
    reason = request.POST.get("reason", "")
    actor = CaseActor.of(request.user)
    results = []
    for raw in request.POST.getlist("case_ids")[:BATCH_MAX]:
        case = case_for_region(region, raw)
        if case is None:
            results.append({"number": raw, "ok": False, "message": _("未找到该业务。")})
            continue
        if refusal := bulk.batch_refusal(case):
            results.append({"number": case.number, "ok": False, "message": refusal})
            continue
        try:
            # One transaction per case: a refusal of one never undoes the others.
            decided = case_decide(
                case_id=case.pk, actor=actor, approve=approve, reason=reason, step=case.step
            )
        except ApplicationError as exc:
            results.append({"number": case.number, "ok": False, "message": exc.message})
        else:
            results.append(
                {"number": case.number, "ok": True, "message": decided.get_state_display()}
            )
    if not results:
        messages.error(request, _("请先勾选要审核的业务。"))
    request.session["case_batch_results"] = results
    ok = sum(1 for r in results if r["ok"])
    audit_describe(
        request,
        object_type="case",
        object_repr="、".join(r["number"] for r in results if r["ok"])[:200],  # type: ignore[misc]
        after={"decision": "审核通过" if approve else "退回", "reason": reason},
    )
    if results:
        messages.info(
            request,
            _("已处理 %(ok)s 件，未处理 %(bad)s 件。") % {"ok": ok, "bad": len(results) - ok},
        )
    return redirect(reverse("transfers:bureau_cases") + "?" + request.GET.urlencode())


@right_required(Right.BUREAU_AUDIT)
@require_POST
def bureau_batch_view(request: HttpRequest) -> HttpResponse:
    """Batch decision of the checked 异动 cases; each still goes through case_decide in
    its own transaction. A transfer among them is not decided (bulk.ONE_BY_ONE): it is
    listed as 未处理 with the reason, and is approved on its own page, with the password."""
    return _batch(request)


@right_required(Right.BUREAU_AUDIT)
@never_cache
def bureau_case_detail_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _bureau_case(request, case_id)
    context = _case_context(request, case, can_decide=case_waits_for_region(case, _region(request)))
    context["can_withdraw"] = False
    context["can_certificate"] = False
    context["decide_url"] = reverse("transfers:bureau_case_decide", kwargs={"case_id": case.pk})
    context["letter_url"] = reverse("transfers:bureau_case_letter", kwargs={"case_id": case.pk})
    context["back_url"] = reverse("transfers:bureau_cases")
    return render(request, "transfers/case_detail.html", context)


@right_required(Right.BUREAU_AUDIT)
@require_POST
@sensitive(TRANSFER_APPROVE)
def bureau_case_decide_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _bureau_case(request, case_id)
    back = reverse("transfers:bureau_case_detail", kwargs={"case_id": case.pk})
    return _decide(request, case, back)


@right_required(Right.BUREAU_AUDIT)
@never_cache
def bureau_case_letter_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    from shared_apps.bureau.selectors import bureau_for

    case = _bureau_case(request, case_id)
    bureau = bureau_for(request.user)  # type: ignore[arg-type]
    issuer = bureau.name if bureau else _("教育行政部门")
    return _pdf(documents.letter_pdf(case, issuer=str(issuer)), f"{case.number}.pdf")
