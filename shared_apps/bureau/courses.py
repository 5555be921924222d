"""教育一科代为设置: a bureau officer (开通与停用学校, own region's schools only) sets a
school's class courses for a term on the school's request. The school is reached only
through tenant_apps.grades.facade; the action is audited twice in one transaction: in the
bureau's log (public schema, naming the school) and in the school's own log (the facade),
so the school sees which officer of which bureau did it."""

from __future__ import annotations

from django.contrib import messages
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.audit import WRITE, audit_record
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from shared_apps.bureau.selectors import access_school, bureau_for
from tenant_apps.grades.facade import (
    ClassCourses,
    SchoolCourses,
    class_courses_set_for_school,
    school_courses,
    term_now,
)
from tenants.models import School


@transaction.atomic
def school_class_courses_set(
    *,
    request: HttpRequest,
    school: School,
    class_id: int,
    course_ids: list[int],
    school_year: str,
    term: int,
) -> ClassCourses:
    user = request.user
    bureau = bureau_for(user)  # type: ignore[arg-type]
    bureau_name = bureau.name if bureau else "教育局"
    actor = Actor(
        username=user.username,
        name=str(getattr(user, "full_name", "") or user.username),
        schema=str(connection.schema_name),
    )
    done = class_courses_set_for_school(
        schema_name=school.schema_name,
        class_id=class_id,
        course_ids=course_ids,
        school_year=school_year,
        term=term,
        actor=actor,
        bureau_name=bureau_name,
    )
    audit_record(
        request=request,
        action=WRITE,
        object_type="class_courses",
        object_id=class_id,
        object_repr=f"{school.name} {done.class_name} 班级课程（代为设置）",
        after={"courses": list(done.course_names), "year": school_year, "term": term},
        school=school.schema_name,
    )
    return done


@right_required(Right.BUREAU_SCHOOLS_MANAGE)
@require_http_methods(["GET", "POST"])
def school_courses_view(request: HttpRequest, school_id: int) -> HttpResponse:
    school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None:
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    year, term_no = term_now()
    year = source.get("year") or year
    term_text = source.get("term", "")
    term = int(term_text) if term_text.isdigit() else term_no
    if request.method == "POST":
        class_text = request.POST.get("class", "")
        try:
            done = school_class_courses_set(
                request=request,
                school=school,
                class_id=int(class_text) if class_text.isdigit() else 0,
                course_ids=sorted({int(v) for v in request.POST.getlist("courses") if v.isdigit()}),
                school_year=year,
                term=term,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("已为%(school)s %(klass)s设置课程：%(courses)s")
                % {
                    "school": school.name,
                    "klass": done.class_name,
                    "courses": "、".join(done.course_names) or "—",
                },
            )
        url = reverse("bureau:school_courses", kwargs={"school_id": school.pk})
        return redirect(f"{url}?year={year}&term={term}")
    try:
        data: SchoolCourses = school_courses(
            schema_name=school.schema_name, school_year=year, term=term
        )
    except ApplicationError as exc:
        raise Http404 from exc
    return render(request, "bureau/school_courses.html", {"school": school, "data": data})
