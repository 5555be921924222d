"""Pages of the grade statistics (成绩统计) under /reports/grades/: the term's tables by
course, grade and class with charts, class-against-class and term-against-term
comparisons, each table as Excel, and the mark sheets. Right 查询统计; what each user
sees is gradestats.selectors.scope_for (a class teacher: own classes; a subject teacher:
the cells he or she teaches)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import Right
from common.charts import Chart, Series
from common.views import content_disposition, right_required
from tenant_apps.grades.terms import Term, current_term, term_choices, term_parse
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.reports.gradestats import exports
from tenant_apps.reports.gradestats import selectors as stats
from tenant_apps.reports.gradestats.selectors import Scope, StatTable

TABLES = ("course", "grade", "class", "classes", "terms")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _term(request: HttpRequest) -> Term:
    return term_parse(request.GET.get("year"), request.GET.get("term")) or current_term()


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def average_chart(table: StatTable, *, title: str) -> Chart:
    labels = ["·".join(r.labels) for r in table.rows]
    return Chart(
        title=title,
        categories=labels,
        series=(
            Series("平均分", [_num(r.stat.average) for r in table.rows]),
            Series("及格率%", [_num(r.stat.pass_rate) for r in table.rows]),
        ),
        kind="bar",
    )


def levels_chart(table: StatTable, *, title: str) -> Chart:
    return Chart(
        title=title,
        categories=["·".join(r.labels) for r in table.rows],
        series=tuple(
            Series(name, [r.stat.levels[i] for r in table.rows])
            for i, name in enumerate(("优秀", "良好", "合格", "不合格"))
        ),
        kind="stacked",
        unit="人次",
    )


def trend_chart(table: StatTable) -> Chart:
    return Chart(
        title="平均分与及格率走势",
        categories=[r.labels[0] for r in table.rows],
        series=(
            Series("平均分", [_num(r.stat.average) for r in table.rows]),
            Series("及格率%", [_num(r.stat.pass_rate) for r in table.rows]),
        ),
        kind="line",
    )


def table_for(key: str, *, params: Any, scope: Scope) -> StatTable:
    """The table `key` for the query `params` (GET of a page, the API's query)."""
    term = term_parse(params.get("year"), params.get("term")) or current_term()
    course_id = _int(params.get("course"))
    if key == "course":
        return stats.course_table(term=term, scope=scope)
    if key == "grade":
        return stats.grade_table(term=term, scope=scope)
    if key == "class":
        return stats.class_table(
            term=term, scope=scope, grade=params.get("grade", ""), course_id=course_id
        )
    if key == "classes":
        grade = params.get("grade", "") or next((g.key for g in stats.grade_options(scope)), "")
        return stats.classes_compare(term=term, scope=scope, grade=grade, course_id=course_id)
    if key == "terms":
        return stats.terms_compare(
            terms=term_choices(current_term()),
            scope=scope,
            course_id=course_id,
            class_id=_int(params.get("class")),
            grade=params.get("grade", ""),
        )
    raise Http404


def _filters(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "") for k in ("year", "term", "grade", "course", "class")}


@right_required(Right.STATS_VIEW)
def home_view(request: HttpRequest) -> HttpResponse:
    scope = stats.scope_for(request.user)
    term = _term(request)
    by_course = stats.course_table(term=term, scope=scope)
    by_grade = stats.grade_table(term=term, scope=scope)
    by_class = stats.class_table(term=term, scope=scope)
    return render(
        request,
        "reports/gradestats/home.html",
        {
            # The nav offers 成绩导入 only to who may import (成绩录入).
            "can_import": request.user.has_right(Right.GRADES_ENTER),  # type: ignore[union-attr]
            "term": term,
            "terms": term_choices(current_term()),
            "query": request.GET.urlencode(),
            "tables": [by_course, by_grade, by_class],
            "course_chart": average_chart(by_course, title="各课程平均分与及格率"),
            "levels_chart": levels_chart(by_course, title="各课程等级分布"),
            "classes": [c for c in stats.class_options(scope) if c.pk in _full(scope)],
        },
    )


def _full(scope: Scope) -> set[int]:
    """Classes whose whole mark sheet the user may read: every class for the school-wide
    scope, a class teacher's own; a subject teacher sees only his or her courses in the
    tables, not a class's whole sheet."""
    if scope.every:
        return set(SchoolClass.objects.values_list("pk", flat=True))
    return set(scope.classes)


@right_required(Right.STATS_VIEW)
def compare_classes_view(request: HttpRequest) -> HttpResponse:
    scope = stats.scope_for(request.user)
    term = _term(request)
    table = table_for("classes", params=request.GET, scope=scope)
    return render(
        request,
        "reports/gradestats/compare.html",
        {
            "can_import": request.user.has_right(Right.GRADES_ENTER),  # type: ignore[union-attr]
            "kind": "classes",
            "term": term,
            "terms": term_choices(current_term()),
            "grades": stats.grade_options(scope),
            "grade": request.GET.get("grade", ""),
            "courses": stats.course_options(scope, [term]),
            "course": _int(request.GET.get("course")),
            "table": table,
            "chart": average_chart(table, title="班级平均分与及格率"),
            "levels": levels_chart(table, title="班级等级分布"),
            "query": request.GET.urlencode(),
        },
    )


@right_required(Right.STATS_VIEW)
def compare_terms_view(request: HttpRequest) -> HttpResponse:
    scope = stats.scope_for(request.user)
    terms = term_choices(current_term())
    table = table_for("terms", params=request.GET, scope=scope)
    return render(
        request,
        "reports/gradestats/compare.html",
        {
            "can_import": request.user.has_right(Right.GRADES_ENTER),  # type: ignore[union-attr]
            "kind": "terms",
            "grades": stats.grade_options(scope),
            "grade": request.GET.get("grade", ""),
            "classes": stats.class_options(scope),
            "class_id": _int(request.GET.get("class")),
            "courses": stats.course_options(scope, terms),
            "course": _int(request.GET.get("course")),
            "table": table,
            "chart": trend_chart(table),
            "levels": levels_chart(table, title="各学期等级分布"),
            "query": request.GET.urlencode(),
        },
    )


def _xlsx(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=exports.XLSX)
    response["Content-Disposition"] = content_disposition(f"{name}.xlsx")
    return response


def _pdf(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(f"{name}.pdf", inline=True)
    return response


@right_required(Right.STATS_VIEW)
def export_view(request: HttpRequest, stats_table: str) -> HttpResponse:
    table = stats_table
    if table not in TABLES:
        raise Http404
    found = table_for(table, params=request.GET, scope=stats.scope_for(request.user))
    data = exports.table_xlsx(found, request=request, filters=_filters(request))
    return _xlsx(data, found.title)


def sheet_class(user: Any, class_id: int) -> SchoolClass:
    klass = SchoolClass.objects.filter(pk=class_id).first()
    if klass is None or klass.pk not in _full(stats.scope_for(user)):
        raise Http404
    return klass


def sheet_student(user: Any, student_id: int) -> Student:
    student = (
        Student.objects.select_related("school_class")
        .exclude(audit_state=Student.Audit.DELETED)
        .filter(pk=student_id)
        .first()
    )
    if student is None or student.school_class_id not in _full(stats.scope_for(user)):
        raise Http404
    return student


def _sheet_response(
    request: HttpRequest, sheet: exports.Sheet, filters: dict[str, Any]
) -> HttpResponse:
    fmt = "pdf" if request.GET.get("output") == "pdf" else "xlsx"
    data = exports.sheet_file(sheet, fmt=fmt, request=request, filters=filters)
    return _pdf(data, sheet.title) if fmt == "pdf" else _xlsx(data, sheet.title)


@right_required(Right.STATS_VIEW)
def class_sheet_view(request: HttpRequest, class_id: int) -> HttpResponse:
    klass = sheet_class(request.user, class_id)
    term = _term(request)
    sheet = exports.class_sheet(klass=klass, term=term)
    return _sheet_response(
        request, sheet, {"class": klass.name, "year": term.school_year, "term": term.term}
    )


@right_required(Right.STATS_VIEW)
def student_sheet_view(request: HttpRequest, mark_student_id: int) -> HttpResponse:
    student = sheet_student(request.user, mark_student_id)
    return _sheet_response(request, exports.student_sheet(student=student), {"student": student.pk})
