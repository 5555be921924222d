from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.bureau.forms import BureauCreateForm, SchoolCreateForm
from shared_apps.bureau.selectors import (
    access_school,
    access_schools,
    bureau_for,
    bureau_list,
    counties_under,
)
from shared_apps.bureau.services import bureau_open, school_open
from tenants.models import School
from tenants.services import AdminInput, SchoolInput, school_set_status


def _apply_errors(form: object, exc: ApplicationError) -> None:
    if exc.extra:
        for name, errors in exc.extra.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)  # type: ignore[attr-defined]
    else:
        form.add_error(None, exc.message)  # type: ignore[attr-defined]


def _county_choices(region: object) -> list[tuple[str, str]]:
    return [(c.code[:6], f"{c.name}（{c.code[:6]}）") for c in counties_under(region)]  # type: ignore[arg-type]


def _students(school: School) -> int:
    stats = getattr(school, "stats", None)
    return stats.students if stats else 0


@right_required(Right.BUREAU_SCHOOLS_VIEW)
def bureau_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    schools = list(access_schools(user=user).order_by("code"))  # type: ignore[arg-type]
    peak = max([_students(s) for s in schools] + [1])
    rows = [
        {
            "school": s,
            "students": _students(s),
            "width": round(100 * _students(s) / peak),
            "host": f"{s.slug}.{request.get_host()}",
        }
        for s in schools
    ]
    form = None
    if user.has_right(Right.BUREAU_SCHOOLS_MANAGE):  # type: ignore[union-attr]
        form = SchoolCreateForm(counties=_county_choices(user.region))  # type: ignore[union-attr]
    context = {
        "form": form,
        "bureau": bureau_for(user),  # type: ignore[arg-type]
        "rows": rows,
        "total_students": sum(r["students"] for r in rows),  # type: ignore[misc]
        "active_count": sum(1 for s in schools if s.status == School.Status.ACTIVE),
    }
    return render(request, "bureau/home.html", context)


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_http_methods(["GET", "POST"])
def school_create_view(request: HttpRequest) -> HttpResponse:
    form = SchoolCreateForm(request.POST or None, counties=_county_choices(request.user.region))  # type: ignore[union-attr]
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            opened = school_open(
                data=SchoolInput(
                    name=d["name"],
                    code=d["code"],
                    slug=d["slug"],
                    county_code=d["county_code"],
                    stages=d["stages"],
                    address=d["address"],
                    principal=d["principal"],
                    phone=d["phone"],
                ),
                admin=AdminInput(username=d["admin_username"], full_name=d["admin_full_name"]),
                acting_user=request.user,  # type: ignore[arg-type]
            )
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            return render(
                request, "bureau/school_created.html", {"opened": opened, "name": d["name"]}
            )
    return render(request, "bureau/school_create.html", {"form": form})


@right_required(Right.BUREAU_SCHOOLS_VIEW)
def school_detail_view(request: HttpRequest, school_id: int) -> HttpResponse:
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None:
        raise Http404
    return render(request, "bureau/school_detail.html", {"school": school})


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_POST
def school_status_view(request: HttpRequest, school_id: int) -> HttpResponse:
    if access_school(user=request.user, school_id=school_id) is None:  # type: ignore[arg-type]
        raise Http404
    status = request.POST.get("status", "")
    try:
        school_set_status(school_id=school_id, status=status, scope=request.user.region)  # type: ignore[union-attr]
    except ApplicationError as exc:
        raise Http404 from exc
    return redirect("bureau:school_detail", school_id=school_id)


@right_required(Right.STATS_VIEW)
def stats_view(request: HttpRequest) -> HttpResponse:
    schools = access_schools(user=request.user)  # type: ignore[arg-type]
    by_county: dict[str, dict[str, int | str]] = {}
    for s in schools:
        entry = by_county.setdefault(
            s.county_id or "",
            {"name": s.county.name if s.county else "", "schools": 0, "students": 0},
        )
        entry["schools"] = int(entry["schools"]) + 1
        entry["students"] = int(entry["students"]) + getattr(
            getattr(s, "stats", None), "students", 0
        )
    return render(
        request,
        "bureau/stats.html",
        {"counties": sorted(by_county.values(), key=lambda e: str(e["name"]))},
    )


@right_required(Right.PLATFORM_BUREAUS_MANAGE)
@require_http_methods(["GET", "POST"])
def bureau_list_view(request: HttpRequest) -> HttpResponse:
    form = BureauCreateForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = bureau_open(**form.cleaned_data)
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            form = BureauCreateForm()
    return render(
        request,
        "bureau/bureau_list.html",
        {"form": form, "bureaus": bureau_list(), "created": created},
    )
