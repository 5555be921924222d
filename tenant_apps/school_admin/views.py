"""Pages of 学校管理 on a school's host: 学校基本信息, 年级信息, 班级信息 and 学年初始化.
Thin: read through school_admin.selectors, write through one service per request;
a refusal shows its Chinese message next to the field it names."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import groups as groups_service
from accounts.models import User, UserGroup
from accounts.roles import ROLE_RIGHTS, SCHOOL_RIGHTS, Right, Role
from common.actor import Actor
from common.exceptions import ApplicationError
from common.views import right_required
from tenant_apps.registry.classes import services as classes
from tenant_apps.registry.classes.selectors import listable_class_ids
from tenant_apps.registry.models import (
    CLASS_TYPE_DIGIT,
    STAGE_NAME,
    ClassType,
)
from tenant_apps.school_admin import selectors
from tenants.models import School, SchoolType, Sponsor
from tenants.profile import LABELS, CampusInput, ProfileInput, school_profile_update

EMPTY_CAMPUS_ROWS = 2


def _school(request: HttpRequest) -> School:
    return School.objects.get(pk=request.tenant.pk)  # type: ignore[attr-defined,no-any-return]


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _errors(exc: ApplicationError) -> dict[str, list[str]]:
    return {str(k): [str(m) for m in v] for k, v in exc.extra.items()}


def _flash(request: HttpRequest, exc: ApplicationError) -> None:
    messages.error(request, exc.message)


def _stages(school: School) -> list[tuple[str, str]]:
    return [(s, STAGE_NAME[s]) for s in STAGE_NAME if s in school.stages]


# -- 学校基本信息 -------------------------------------------------------------------------


@right_required(Right.SCHOOL_MANAGE)
@require_http_methods(["GET", "POST"])
def info_view(request: HttpRequest) -> HttpResponse:
    school = _school(request)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in LABELS}
        campuses = [
            CampusInput(name=n, address=a, phone=p)
            for n, a, p in zip(
                request.POST.getlist("campus_name"),
                request.POST.getlist("campus_address"),
                request.POST.getlist("campus_phone"),
                strict=False,
            )
        ]
        try:
            school_profile_update(
                school_id=school.pk,
                data=ProfileInput(**values, campuses=tuple(campuses)),
                actor=_actor(request),
                request=request,
            )
        except ApplicationError as exc:
            errors = _errors(exc)
            messages.error(request, _("学校信息有误，请按提示修改。"))
        else:
            messages.success(request, _("学校基本信息已保存。"))
            return redirect("school_admin:info")
        campus_rows = [{"name": c.name, "address": c.address, "phone": c.phone} for c in campuses]
    else:
        values = {name: str(getattr(school, name) or "") for name in LABELS}
        campus_rows = [
            {"name": c.name, "address": c.address, "phone": c.phone} for c in school.campuses.all()
        ]
    campus_rows += [{"name": "", "address": "", "phone": ""}] * EMPTY_CAMPUS_ROWS
    return render(
        request,
        "school_admin/info.html",
        {
            "school": school,
            "values": values,
            "errors": errors,
            "campus_rows": campus_rows,
            "school_types": SchoolType.choices,
            "sponsors": Sponsor.choices,
        },
    )


# -- 年级信息 ------------------------------------------------------------------------------


def _grades_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    school = _school(request)
    rows = selectors.grade_rows()
    year = classes.setup_year()
    have = {(g.stage, g.entry_year) for g in rows}
    return render(
        request,
        "school_admin/grades.html",
        {
            "active": [g for g in rows if not g.graduated],
            "graduated": [g for g in rows if g.graduated],
            "intake_year": year,
            "intake_missing": [(s, label) for s, label in _stages(school) if (s, year) not in have],
            "stages": _stages(school),
            "staff": selectors.staff_choices(),
            "errors": {},
            **extra,
        },
    )


@right_required(Right.CLASSES_MANAGE)
@require_GET
def grades_view(request: HttpRequest) -> HttpResponse:
    return _grades_page(request)


@right_required(Right.CLASSES_MANAGE)
@require_POST
def grade_create_view(request: HttpRequest) -> HttpResponse:
    """One click adds the coming intake's grade; with an entry year, an earlier one."""
    stage = request.POST.get("stage", "")
    year = _int(request.POST.get("entry_year"))
    stages = _school(request).stages
    try:
        if request.POST.get("intake"):
            grade = classes.grade_add_intake(
                stage=stage, school_stages=stages, actor=_actor(request), request=request
            )
        else:
            if year is None:
                raise ApplicationError(
                    _("入学年份：请填写 4 位年份。"),
                    extra={"entry_year": [_("入学年份：请填写 4 位年份。")]},
                )
            grade = classes.grade_create(
                stage=stage,
                entry_year=year,
                school_stages=stages,
                actor=_actor(request),
                request=request,
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _grades_page(
            request, errors=_errors(exc), posted={"stage": stage, "entry_year": year or ""}
        )
    messages.success(request, _("已建立%(name)s。") % {"name": grade.name})
    return redirect("school_admin:grades")


@right_required(Right.CLASSES_MANAGE)
@require_POST
def grade_edit_view(request: HttpRequest, grade_id: int) -> HttpResponse:
    try:
        grade = classes.grade_update(
            grade_id=grade_id,
            head_username=request.POST.get("head_username", ""),
            head_name=request.POST.get("head_name", ""),
            actor=_actor(request),
            request=request,
        )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("%(name)s的年级段长已保存。") % {"name": grade.name})
    return redirect("school_admin:grades")


@right_required(Right.CLASSES_MANAGE)
@require_POST
def grade_delete_view(request: HttpRequest, grade_id: int) -> HttpResponse:
    try:
        classes.grade_delete(grade_id=grade_id, actor=_actor(request), request=request)
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("年级已删除。"))
    return redirect("school_admin:grades")


# -- 班级信息 ------------------------------------------------------------------------------


def _type_choices(stage: str | None = None) -> list[tuple[str, str]]:
    digits = {CLASS_TYPE_DIGIT[stage]} if stage else set(CLASS_TYPE_DIGIT.values())
    return [(v, label) for v, label in ClassType.choices if v[0] in digits]


def _classes_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    school = _school(request)
    rows = selectors.class_rows()
    grades = [g for g in selectors.grade_rows() if not g.graduated]
    groups: dict[str, list[selectors.ClassRow]] = {}
    for row in rows:
        groups.setdefault(row.grade_name, []).append(row)
    manage = request.user.has_right(Right.CLASSES_MANAGE)  # type: ignore[union-attr]
    year = classes.setup_year()
    # Copying is offered only where last year's intake has classes: a new school has
    # none, and a button that can only answer "无可复制" is a trap on its first day.
    previous = {r.stage for r in rows if r.entry_year == year - 1}
    return render(
        request,
        "school_admin/classes.html",
        {
            "groups": groups,
            "count": len(rows),
            "manage": manage,
            # A class name links to its roster only for who may open that roster.
            "listable": listable_class_ids(request.user),
            "grades": grades,
            "staff": selectors.staff_choices() if manage else [],
            "class_types": _type_choices(),
            "intake_year": year,
            "copy_stages": [
                (s, label, f"{label}{year - 1}级", f"{label}{year}级")
                for s, label in _stages(school)
                if s in previous
            ],
            "errors": {},
            "posted": {},
            **extra,
        },
    )


@right_required(Right.SCHOOL_VIEW)
@require_GET
def classes_view(request: HttpRequest) -> HttpResponse:
    # ?grade=<id> (the grade page's "新增班级" link) preselects the grade in the form.
    return _classes_page(request, posted={"grade_id": request.GET.get("grade", "")})


@right_required(Right.CLASSES_MANAGE)
@require_POST
def class_create_view(request: HttpRequest) -> HttpResponse:
    posted = {
        "grade_id": request.POST.get("grade_id", ""),
        "class_no": request.POST.get("class_no", "").strip(),
        "class_type": request.POST.get("class_type", ""),
        "teacher_username": request.POST.get("teacher_username", ""),
    }
    grade_id = _int(posted["grade_id"])
    try:
        if grade_id is None:
            raise ApplicationError(
                _("年级：请选择年级。"), extra={"grade_id": [_("年级：请选择年级。")]}
            )
        klass = classes.class_add(
            grade_id=grade_id,
            class_no=posted["class_no"],
            class_type=posted["class_type"],
            teacher_username=posted["teacher_username"],
            actor=_actor(request),
            request=request,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _classes_page(request, errors=_errors(exc), posted=posted)
    messages.success(request, _("已建立%(name)s。") % {"name": klass.name})
    return redirect("school_admin:classes")


@right_required(Right.CLASSES_MANAGE)
@require_POST
def classes_copy_view(request: HttpRequest) -> HttpResponse:
    try:
        made = classes.classes_copy_to_intake(
            stage=request.POST.get("stage", ""),
            school_stages=_school(request).stages,
            actor=_actor(request),
            request=request,
        )
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(
            request,
            _("已建立 %(n)s 个班级：%(names)s。请为新班级指定班主任。")
            % {"n": len(made), "names": "、".join(c.name for c in made)},
        )
    return redirect("school_admin:classes")


@right_required(Right.CLASSES_MANAGE)
@require_http_methods(["GET", "POST"])
def class_edit_view(request: HttpRequest, class_id: int) -> HttpResponse:
    row = next((c for c in selectors.class_rows() if c.id == class_id), None)
    if row is None:
        return render(request, "404.html", status=404)
    errors: dict[str, list[str]] = {}
    posted: dict[str, Any] = {
        "class_type": row.class_type,
        "teacher_username": row.teacher_username,
        "composite_years": list(row.composite_years),
    }
    if request.method == "POST":
        posted = {
            "class_type": request.POST.get("class_type", ""),
            "teacher_username": request.POST.get("teacher_username", ""),
            "composite_years": [
                int(y) for y in request.POST.getlist("composite_years") if y.isdigit()
            ],
        }
        try:
            classes.class_update(
                class_id=class_id, **posted, actor=_actor(request), request=request
            )
        except ApplicationError as exc:
            errors = _errors(exc)
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s已保存。") % {"name": row.name})
            return redirect("school_admin:classes")
    same_grade = [
        c for c in selectors.class_rows() if c.grade_name == row.grade_name and c.id != row.id
    ]
    other_grades = [
        g
        for g in selectors.grade_rows()
        if g.stage == row.stage and not g.graduated and g.name != row.grade_name
    ]
    return render(
        request,
        "school_admin/class_edit.html",
        {
            "row": row,
            "posted": posted,
            "errors": errors,
            "staff": selectors.staff_choices(),
            "class_types": _type_choices(row.stage),
            "same_grade": same_grade,
            "other_grades": other_grades,
        },
    )


@right_required(Right.CLASSES_MANAGE)
@require_POST
def class_merge_view(request: HttpRequest, class_id: int) -> HttpResponse:
    target = _int(request.POST.get("target_id"))
    try:
        if target is None:
            raise ApplicationError(_("合并到：请选择班级。"))
        merged = classes.class_merge(
            source_id=class_id, target_id=target, actor=_actor(request), request=request
        )
    except ApplicationError as exc:
        _flash(request, exc)
        return redirect("school_admin:classes")
    messages.success(
        request,
        _("%(source)s已并入%(target)s，转入 %(n)s 名学生，每名学生的学籍记录已登记。")
        % {"source": merged.source, "target": merged.target, "n": merged.students},
    )
    return redirect("school_admin:classes")


@right_required(Right.CLASSES_MANAGE)
@require_POST
def class_delete_view(request: HttpRequest, class_id: int) -> HttpResponse:
    try:
        name = classes.class_delete(class_id=class_id, actor=_actor(request), request=request)
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("%(name)s已删除。") % {"name": name})
    return redirect("school_admin:classes")


# -- 学年初始化 ----------------------------------------------------------------------------


@right_required(Right.SCHOOL_MANAGE)
@require_GET
def setup_view(request: HttpRequest) -> HttpResponse:
    lines = selectors.checklist(school_id=request.tenant.pk)  # type: ignore[attr-defined]
    done = sum(1 for line in lines if line.done)
    return render(
        request,
        "school_admin/setup.html",
        {
            "lines": lines,
            "done": done,
            "total": len(lines),
            "year_label": f"{classes.setup_year()}–{classes.setup_year() + 1}",
        },
    )


# -- 用户组管理 ----------------------------------------------------------------------------


def _right_choices() -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in Right if r.value in SCHOOL_RIGHTS]


def _groups_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    labels = dict(_right_choices())
    groups = list(UserGroup.objects.prefetch_related("members"))
    default_members = [str(u) for u in groups_service.default_group_members()]
    return render(
        request,
        "school_admin/groups.html",
        {
            "default_name": groups_service.DEFAULT_GROUP_NAME,
            "default_rights": [labels[r] for r in sorted(ROLE_RIGHTS[Role.ALL_TEACHERS])],
            "default_members": default_members,
            "groups": [
                {
                    "id": g.pk,
                    "name": g.name,
                    "rights": [labels.get(r, r) for r in g.rights],
                    "members": len(g.members.all()),
                }
                for g in groups
            ],
            "too_many": len(groups) >= groups_service.GROUPS_WARN_FROM,
            "right_choices": _right_choices(),
            "errors": {},
            "posted": {"name": "", "rights": []},
            **extra,
        },
    )


@right_required(Right.USERS_MANAGE)
@require_GET
def groups_view(request: HttpRequest) -> HttpResponse:
    return _groups_page(request)


@right_required(Right.USERS_MANAGE)
@require_POST
def group_create_view(request: HttpRequest) -> HttpResponse:
    posted: dict[str, Any] = {
        "name": request.POST.get("name", ""),
        "rights": request.POST.getlist("rights"),
    }
    try:
        group = groups_service.group_create(
            name=posted["name"], rights=posted["rights"], actor=_actor(request)
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _groups_page(request, errors=_errors(exc), posted=posted)
    messages.success(request, _("已建立用户组“%(name)s”，请添加成员。") % {"name": group.name})
    return redirect("school_admin:group_edit", group_id=group.pk)


@right_required(Right.USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def group_edit_view(request: HttpRequest, group_id: int) -> HttpResponse:
    group = UserGroup.objects.filter(pk=group_id).first()
    if group is None:
        return render(request, "404.html", status=404)
    errors: dict[str, list[str]] = {}
    posted: dict[str, Any] = {
        "name": group.name,
        "rights": list(group.rights),
        "members": list(group.members.values_list("pk", flat=True)),
    }
    if request.method == "POST":
        posted = {
            "name": request.POST.get("name", ""),
            "rights": request.POST.getlist("rights"),
            "members": [int(v) for v in request.POST.getlist("members") if v.isdigit()],
        }
        try:
            groups_service.group_update(
                group_id=group.pk,
                name=posted["name"],
                rights=posted["rights"],
                member_ids=posted["members"],
                actor=_actor(request),
            )
        except ApplicationError as exc:
            errors = _errors(exc)
            messages.error(request, exc.message)
        else:
            messages.success(request, _("用户组“%(name)s”已保存。") % {"name": posted["name"]})
            return redirect("school_admin:groups")
    return render(
        request,
        "school_admin/group_edit.html",
        {
            "group": group,
            "posted": posted,
            "errors": errors,
            "right_choices": _right_choices(),
            "users": [
                {"id": u.pk, "label": str(u)}
                for u in User.objects.filter(is_active=True).order_by("username")
            ],
        },
    )


@right_required(Right.USERS_MANAGE)
@require_POST
def group_delete_view(request: HttpRequest, group_id: int) -> HttpResponse:
    try:
        name = groups_service.group_delete(group_id=group_id, actor=_actor(request))
    except ApplicationError as exc:
        _flash(request, exc)
    else:
        messages.success(
            request, _("用户组“%(name)s”已删除，其成员不再拥有该组的权限。") % {"name": name}
        )
    return redirect("school_admin:groups")
