"""营养改善计划受益学生 pages: tick the pupils of a class, the monthly roster and its
export, the checks' flags. Thin: programme.services writes, programme.selectors reads."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.audit import audit_describe
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import content_disposition, right_required
from shared_apps.nutrition import selectors as nutrition
from shared_apps.nutrition.calendar import Month, standard_on
from tenant_apps.registry.students.services import current_school
from tenant_apps.rosters.programme import selectors, services
from tenant_apps.rosters.programme.exports import XLSX, roster_export


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


@right_required(Right.NUTRITION_MANAGE)
@require_http_methods(["GET", "POST"])
def programme_view(request: HttpRequest) -> HttpResponse:
    """营养改善计划受益学生: the classes, one class's 在读 pupils with tick boxes, the flags."""
    today = timezone.localdate()
    school = current_school()
    classes = selectors.programme_classes()
    raw_class = request.POST.get("class_id") or request.GET.get("class_id") or ""
    class_id = int(raw_class) if raw_class.isdigit() else None
    if class_id not in {c.id for c in classes}:
        class_id = classes[0].id if classes else None
    if request.method == "POST":
        shown = set(_ids(request.POST.getlist("shown")))
        checked = set(_ids(request.POST.getlist("ids"))) & shown
        end = set(_ids(request.POST.getlist("end")))
        try:
            result = services.beneficiaries_save(
                tick=sorted(checked),
                untick=sorted((shown - checked) | end),
                on=today,
                actor=Actor.of(request.user),
            )
        except ApplicationError as exc:
            details = [m for msgs in exc.extra.values() for m in msgs]
            messages.error(request, " ".join([exc.message, *details]))
        else:
            audit_describe(
                request,
                object_type="nutrition_beneficiaries",
                object_id=class_id or "",
                object_repr=_("营养改善计划受益学生"),
                after={"ticked": result.ticked, "ended": result.ended},
            )
            messages.success(
                request,
                _("已保存：新增受益学生 %(ticked)s 名，结束受益 %(ended)s 名。")
                % {"ticked": result.ticked, "ended": result.ended},
            )
        url = reverse("rosters:programme")
        return redirect(f"{url}?class_id={class_id}" if class_id else url)
    context = {
        "in_programme": nutrition.in_programme(school_id=school.id, on=today),
        "period": nutrition.open_period(school_id=school.id),
        "standard": standard_on(today),
        "classes": classes,
        "class_id": class_id,
        "pupils": selectors.class_pupils(class_id) if class_id else [],
        "flags": selectors.school_flags(),
        "month": Month.of(today),
    }
    return render(request, "rosters/programme.html", context)


def _month(request: HttpRequest) -> Month:
    return Month.parse(request.GET.get("month"), default=timezone.localdate())


@right_required(Right.NUTRITION_MANAGE)
@require_GET
def programme_roster_view(request: HttpRequest) -> HttpResponse:
    """月度受益学生名册 of one month (this month unless ?month=YYYY-MM)."""
    month = _month(request)
    roster = selectors.month_roster(month)
    context = {
        "roster": roster,
        "month": month,
        "unfinished": month.last >= timezone.localdate(),
    }
    return render(request, "rosters/programme_roster.html", context)


@right_required(Right.NUTRITION_MANAGE)
@require_GET
def programme_roster_export_view(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    roster = selectors.month_roster(month)
    school = current_school()
    data = roster_export(school_name=school.name, roster=roster, request=request)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition(
        f"营养改善计划受益学生名册-{month.value}.xlsx"
    )
    return response
