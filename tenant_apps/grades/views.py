"""Pages of the grades module (成绩管理). Thin: parse the form, call one service or
selector, render. Rights, and why:

* 成绩录入 (grades.enter): the entry list and grids; which cells is decided per user by
  grades.selectors.cell_writable, and anything else is "not found".
* 成绩查看 (查看学籍 or 查看本班学籍): the marks of the classes the user may see in the
  registry (registry.policy.rules.student_scope), read-only.
* 课程设置 and 班级课程 (grades.manage): curriculum set-up, the school administrator's
  by default and grantable alone as a function right.
* 成绩录入权限 (users.manage): it hands out write access, so it belongs to whoever
  manages accounts and rights (权限设置), like class rights do.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.rights import PRIVILEGED_ROLES, users_with_roles
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.grades import selectors, services
from tenant_apps.grades.models import Mark
from tenant_apps.grades.terms import Term, current_term, term_choices, term_parse
from tenant_apps.registry.classes.selectors import class_list
from tenant_apps.registry.models import STAGE_NAME
from tenant_apps.registry.policy.rules import student_scope


def _ints(values: list[str]) -> list[int]:
    return sorted({int(v) for v in values if v.isdigit()})


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _term(request: HttpRequest) -> Term:
    source = request.POST if request.method == "POST" else request.GET
    return term_parse(source.get("year"), source.get("term")) or current_term()


def _flash(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for msgs in exc.extra.values() for m in msgs if m != exc.message]
    messages.error(request, " ".join([exc.message, *details]))


def _term_url(name: str, term: Term) -> str:
    return f"{reverse(name)}?year={term.school_year}&term={term.term}"


# -- 成绩录入 ----------------------------------------------------------------------------------


@right_required(Right.GRADES_ENTER)
def entry_list_view(request: HttpRequest) -> HttpResponse:
    term = current_term()
    return render(
        request,
        "grades/entry_list.html",
        {"term": term, "cells": selectors.user_cells(request.user, term=term)},
    )


@right_required(Right.GRADES_ENTER)
@require_http_methods(["GET", "POST"])
def grid_view(request: HttpRequest, class_course_id: int) -> HttpResponse:
    term = current_term()
    cell = selectors.class_course_get(class_course_id=class_course_id)
    if (
        cell is None
        or (cell.school_year, cell.term) != (term.school_year, term.term)
        or not selectors.cell_writable(request.user, cell)
    ):
        raise Http404
    errors: dict[str, list[str]] = {}
    posted: dict[str, dict[str, str]] = {}
    if request.method == "POST":
        idents = request.POST.getlist("students")
        rows = [
            {
                "student": ident,
                "level": request.POST.get(f"level_{ident}", ""),
                "score": request.POST.get(f"score_{ident}", ""),
            }
            for ident in idents
        ]
        try:
            result = services.marks_save(
                user=request.user,
                class_course_id=cell.pk,
                rows=rows,
                exam_date=request.POST.get("exam_date", ""),
                request=request,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            errors = {
                idents[int(k[5:-1])] if k.startswith("rows[") else k: v
                for k, v in exc.extra.items()
            }
            posted = {r["student"]: r for r in rows}
        else:
            messages.success(
                request,
                _("已保存：%(saved)d 人录入或修改，%(cleared)d 人清除，%(same)d 人未变。")
                % {"saved": result.saved, "cleared": result.cleared, "same": result.unchanged},
            )
            return redirect("grades:grid", class_course_id=cell.pk)
    rows_out = []
    grid = selectors.grid_rows(cell)
    for row in grid:
        mine = posted.get(row.identifier)
        rows_out.append(
            {
                "row": row,
                "level": mine["level"] if mine else (str(row.level) if row.level else ""),
                "score": mine["score"] if mine else row.score,
                "errors": errors.get(row.identifier, []),
            }
        )
    return render(
        request,
        "grades/entry_grid.html",
        {
            "term": term,
            "cell": cell,
            "rows": rows_out,
            "levels": Mark.Level.choices,
            "exam_date": request.POST.get("exam_date", "")
            if posted
            else max((r.exam_date.isoformat() for r in grid if r.exam_date), default=""),
            "exam_date_errors": errors.get("exam_date", []),
        },
    )


# -- 成绩查看 ----------------------------------------------------------------------------------


@right_required((Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN))
def class_marks_view(request: HttpRequest) -> HttpResponse:
    term = _term(request)
    scope = student_scope(request.user)
    classes = [c for c in class_list() if scope is None or c.pk in scope]
    class_id = _int(request.GET.get("class"))
    chosen = next((c for c in classes if c.pk == class_id), classes[0] if classes else None)
    if class_id is not None and (chosen is None or chosen.pk != class_id):
        raise Http404  # a class outside the user's scope is "not found"
    table = selectors.class_marks(class_id=chosen.pk, term=term) if chosen else None
    return render(
        request,
        "grades/class_marks.html",
        {
            "term": term,
            "terms": term_choices(),
            "classes": classes,
            "chosen": chosen,
            "table": table,
        },
    )


# -- 课程设置 ----------------------------------------------------------------------------------


@right_required(Right.GRADES_MANAGE)
@require_http_methods(["GET", "POST"])
def courses_view(request: HttpRequest) -> HttpResponse:
    actor = Actor.of(request.user)
    form: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create":
                form = {
                    "code": request.POST.get("code", ""),
                    "name": request.POST.get("name", ""),
                    "stages": request.POST.getlist("stages"),
                }
                course = services.course_create(actor=actor, **form)
                messages.success(request, _("已添加课程：%(name)s。") % {"name": course.name})
                return redirect("grades:courses")
            if action in ("enable", "disable"):
                course = services.course_set_active(
                    course_id=_int(request.POST.get("course")) or 0,
                    active=action == "enable",
                    actor=actor,
                )
                messages.success(request, _("已更新课程：%(name)s。") % {"name": course.name})
                return redirect("grades:courses")
            messages.error(request, _("请选择要执行的操作。"))
        except ApplicationError as exc:
            _flash(request, exc)
    return render(
        request,
        "grades/courses.html",
        {"courses": selectors.course_list(), "stages": STAGE_NAME.items(), "form": form},
    )


# -- 班级课程 ----------------------------------------------------------------------------------


@right_required(Right.GRADES_MANAGE)
@require_http_methods(["GET", "POST"])
def class_courses_view(request: HttpRequest) -> HttpResponse:
    term = _term(request)
    actor = Actor.of(request.user)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "set":
                class_id = _int(request.POST.get("class")) or 0
                services.class_courses_set(
                    class_id=class_id,
                    course_ids=_ints(request.POST.getlist("courses")),
                    term=term,
                    actor=actor,
                )
                messages.success(request, _("已保存班级课程。"))
            elif action == "copy":
                result = services.class_courses_copy(
                    source_class_id=_int(request.POST.get("source")) or 0,
                    target_class_ids=_ints(request.POST.getlist("targets")),
                    term=term,
                    actor=actor,
                )
                messages.success(
                    request,
                    _("已复制：新增 %(created)d 门班级课程，%(existing)d 门原已开设。")
                    % {"created": result.created, "existing": result.existing},
                )
            else:
                messages.error(request, _("请选择要执行的操作。"))
        except ApplicationError as exc:
            _flash(request, exc)
        return redirect(_term_url("grades:class_courses", term))
    classes = list(class_list())
    by_class: dict[int, set[int]] = {}
    for cc in selectors.class_course_list(term=term):
        by_class.setdefault(cc.school_class_id, set()).add(cc.course_id)
    courses = list(selectors.course_list())
    rows = [
        {
            "klass": c,
            "courses": [
                {"course": course, "checked": course.pk in by_class.get(c.pk, set())}
                for course in courses
                if course.pk in by_class.get(c.pk, set())
                or (course.is_active and course.fits(c.stage))
            ],
            "count": len(by_class.get(c.pk, set())),
        }
        for c in classes
    ]
    return render(
        request,
        "grades/class_courses.html",
        {"term": term, "terms": term_choices(), "rows": rows, "classes": classes},
    )


# -- 成绩录入权限 ------------------------------------------------------------------------------


def _teachers() -> list[Any]:
    """Active ordinary accounts (the ones 成绩录入权限 is for), each marked whether it
    holds 成绩录入 at all."""
    return [u for u in users_with_roles() if u.is_active and not (u.role_codes & PRIVILEGED_ROLES)]


@right_required(Right.USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def assignments_view(request: HttpRequest) -> HttpResponse:
    term = _term(request)
    actor = Actor.of(request.user)
    if request.method == "POST":
        action = request.POST.get("action", "")
        username = request.POST.get("user", "")
        replace = request.POST.get("replace") == "1"
        try:
            if action == "assign":
                result = services.assignment_set(
                    username=username,
                    class_ids=_ints(request.POST.getlist("classes")),
                    course_ids=_ints(request.POST.getlist("courses")),
                    term=term,
                    replace=replace,
                    actor=actor,
                )
            elif action == "copy":
                result = services.assignment_copy(
                    username=username,
                    source_class_id=_int(request.POST.get("source")) or 0,
                    target_class_ids=_ints(request.POST.getlist("targets")),
                    term=term,
                    replace=replace,
                    actor=actor,
                )
            elif action == "remove":
                services.assignment_remove(
                    assignment_id=_int(request.POST.get("assignment")) or 0, actor=actor
                )
                result = None
                messages.success(request, _("已取消该成绩录入权限。"))
            else:
                result = None
                messages.error(request, _("请选择要执行的操作。"))
            if result is not None:
                messages.success(
                    request,
                    _("已授权 %(assigned)d 个班级课程（%(same)d 个原已授权）。")
                    % {"assigned": result.assigned, "same": result.unchanged},
                )
                for item in result.replaced:
                    messages.warning(request, _("已替换原录入人：%(item)s。") % {"item": item})
        except ApplicationError as exc:
            _flash(request, exc)
        return redirect(_term_url("grades:assignments", term))
    teachers = _teachers()
    names = selectors.user_names()
    assignments = list(selectors.assignment_list(term=term))
    by_user: dict[str, list[Any]] = {}
    for a in assignments:
        by_user.setdefault(a.user_username, []).append(a)
    cells = list(selectors.class_course_list(term=term))
    courses_in_term = sorted({cc.course for cc in cells}, key=lambda c: c.code)
    return render(
        request,
        "grades/assignments.html",
        {
            "term": term,
            "terms": term_choices(),
            "teachers": [
                {
                    "user": u,
                    "can_enter": u.has_right(Right.GRADES_ENTER),
                    "assignments": by_user.get(u.username, []),
                }
                for u in teachers
            ],
            "others": [
                {"name": names.get(n, n), "assignments": items}
                for n, items in by_user.items()
                if n not in {u.username for u in teachers}
            ],
            "classes": [c for c in class_list() if any(cc.school_class_id == c.pk for cc in cells)],
            "courses": courses_in_term,
            "unassigned": [cc for cc in cells if getattr(cc, "assignment", None) is None],
            "cross": selectors.course_cross_authorisations(term=term),
        },
    )
