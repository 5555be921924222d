"""The county's 跨县联合认定 page (issue 19 point 4): the cross-county duplicate cases of the
officer's schools, each side masked with its 佐证 to open, and the county's decision.
Thin: bureau.joint does the work."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.bureau import joint
from shared_apps.bureau.joint_models import JointCase


@right_required(Right.BUREAU_AUDIT)
@require_GET
def joint_list_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(joint.joint_cases(user=request.user), 30).get_page(  # type: ignore[arg-type]
        request.GET.get("page")
    )
    rows = joint.joint_rows(user=request.user, cases=list(page.object_list))  # type: ignore[arg-type]
    return render(
        request,
        "bureau/joint.html",
        {"page": page, "rows": rows, "outcomes": JointCase.Outcome.choices},
    )


@right_required(Right.BUREAU_AUDIT)
@require_POST
def joint_decide_view(request: HttpRequest, joint_id: int) -> HttpResponse:
    try:
        case = joint.joint_decide(
            user=request.user,  # type: ignore[arg-type]
            case_id=joint_id,
            outcome=request.POST.get("outcome", ""),
            request=request,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if case.state == JointCase.State.DECIDED:
            messages.success(request, _("两县认定一致，已生效：双方学校的问题学籍已按认定处理。"))
        else:
            messages.success(request, _("已记录本县认定，待另一县教育局认定；两县一致后生效。"))
    return redirect("bureau:joint")
