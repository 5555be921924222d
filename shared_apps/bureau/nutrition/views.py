"""营养改善计划 pages on the bureau host: programme schools (mark and unmark), the monthly
counts per school with their export, and the checks' flags. Thin: nutrition.services
writes, bureau.nutrition.selectors reads, scoped to the officer's schools."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.audit import WRITE, audit_record
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import content_disposition, right_required
from shared_apps.bureau.nutrition import selectors
from shared_apps.bureau.nutrition.exports import XLSX, counts_export
from shared_apps.bureau.selectors import access_school
from shared_apps.nutrition.calendar import Month, standard_on
from shared_apps.nutrition.services import programme_mark, programme_unmark


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
def programme_schools_view(request: HttpRequest) -> HttpResponse:
    """营养改善计划学校: the officer's schools, which are in the programme since when."""
    rows = selectors.programme_schools(user=request.user)  # type: ignore[arg-type]
    context = {
        "rows": rows,
        "in_programme": sum(1 for r in rows if r.since),
        "can_mark": request.user.has_right(Right.BUREAU_SCHOOLS_MANAGE),  # type: ignore[union-attr]
        "standard": standard_on(timezone.localdate()),
        "month": Month.of(timezone.localdate()),
    }
    return render(request, "bureau/nutrition/schools.html", context)


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_POST
def programme_mark_view(request: HttpRequest, school_id: int) -> HttpResponse:
    """纳入 or 退出 (POST action=mark|unmark) from today."""
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None:
        raise Http404
    action = request.POST.get("action", "")
    if action not in ("mark", "unmark"):
        messages.error(request, _("请选择纳入或退出营养改善计划。"))
        return redirect("bureau:nutrition_schools")
    write = programme_mark if action == "mark" else programme_unmark
    try:
        write(
            school_id=school.pk,
            school_name=school.name,
            on=timezone.localdate(),
            actor_label=Actor.of(request.user).label,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        # The URL names the school, so the middleware's entry would say only that: record
        # what was done to it (an entry of the bureau host naming the school acted in).
        audit_record(
            request=request,
            action=WRITE,
            object_type="school",
            object_id=school.pk,
            object_repr=f"{school.name}：营养改善计划",
            after={"nutrition": "纳入" if action == "mark" else "退出"},
            school=school.schema_name,
            status=302,
        )
        done = (
            _("已将%(school)s纳入营养改善计划。")
            if action == "mark"
            else _("%(school)s已退出营养改善计划。")
        )
        messages.success(request, done % {"school": school.name})
    return redirect("bureau:nutrition_schools")


def _month(request: HttpRequest) -> Month:
    return Month.parse(request.GET.get("month"), default=timezone.localdate())


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
def programme_counts_view(request: HttpRequest) -> HttpResponse:
    """受益学生统计 of one month, per programme school."""
    month = _month(request)
    counts = selectors.month_counts(user=request.user, month=month)  # type: ignore[arg-type]
    return render(request, "bureau/nutrition/counts.html", {"counts": counts, "month": month})


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
def programme_counts_export_view(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    counts = selectors.month_counts(user=request.user, month=month)  # type: ignore[arg-type]
    response = HttpResponse(counts_export(counts=counts, request=request), content_type=XLSX)
    response["Content-Disposition"] = content_disposition(
        f"营养改善计划受益学生统计-{month.value}.xlsx"
    )
    return response


@right_required(Right.BUREAU_SCHOOLS_VIEW)
@require_GET
def programme_flags_view(request: HttpRequest) -> HttpResponse:
    """受益学生核查: claims of the officer's schools that cannot be right."""
    flags = selectors.county_flags(user=request.user)  # type: ignore[arg-type]
    return render(request, "bureau/nutrition/flags.html", {"flags": flags})
