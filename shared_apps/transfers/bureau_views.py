"""Pages of business cases on the public host: the bureau's queue and the case page,
which is the school's (transfers.views) shown for the bureau's region.

The queue has no batch decision: every case is opened and decided on its own page.
Transfers deliberately have no batch approval, "so that approvers really look"
(domain.md §3.5); the bureau's 异动 share the queue and the rule."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.reauth import TRANSFER_APPROVE, sensitive
from accounts.roles import Right
from common.views import right_required
from shared_apps.transfers import documents
from shared_apps.transfers.models import Case, CaseKind
from shared_apps.transfers.selectors import (
    case_for_region,
    case_is_overdue,
    case_waits_for_region,
    cases_for_region,
)
from shared_apps.transfers.views import (
    CASES_PER_PAGE,
    _case_context,
    _decide,
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
            "overdue": case_is_overdue(c, today),
        }
        for c in page.object_list
    ]
    query = urlencode({k: v for k, v in request.GET.items() if k != "page"})
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
        },
    )


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
