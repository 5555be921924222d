"""Reads behind the school's set-up pages: the staff list to pick from, grades and classes
with their derived names, and the start-of-year checklist (学年初始化, domain.md §3.1)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Right
from tenant_apps.registry.classes.selectors import class_list
from tenant_apps.registry.classes.services import grade_label, is_graduated, setup_year
from tenant_apps.registry.models import (
    STAGE_NAME,
    ClassType,
    FieldEditPolicy,
    Grade,
    SchoolClass,
)
from tenants.models import School

SHOWN = 5  # names listed in a checklist line before "等 n 个"


@dataclass(frozen=True)
class StaffChoice:
    username: str
    label: str  # 姓名（工号）


def staff_choices() -> list[StaffChoice]:
    """The school's active accounts, to pick a 班主任 or 年级段长 from."""
    return [
        StaffChoice(u.username, str(u))
        for u in User.objects.filter(is_active=True).order_by("username")
    ]


def _labels() -> dict[str, str]:
    return dict(User.objects.values_list("username", "full_name"))


@dataclass(frozen=True)
class GradeRow:
    id: int
    stage: str
    entry_year: int
    name: str  # 小学2026级
    label: str  # 一年级 / 即将入学 / 已毕业
    graduated: bool
    classes: int
    head_name: str
    head_username: str


def grade_rows(today: dt.date | None = None) -> list[GradeRow]:
    counts: dict[tuple[str, int], int] = {}
    for stage, year in SchoolClass.objects.values_list("stage", "entry_year"):
        counts[(stage, year)] = counts.get((stage, year), 0) + 1
    order = {s: n for n, s in enumerate(STAGE_NAME)}
    grades = sorted(Grade.objects.all(), key=lambda g: (order.get(g.stage, 9), -g.entry_year))
    return [
        GradeRow(
            id=g.pk,
            stage=g.stage,
            entry_year=g.entry_year,
            name=g.name,
            label=grade_label(g.stage, g.entry_year, today),
            graduated=is_graduated(g.stage, g.entry_year, today),
            classes=counts.get((g.stage, g.entry_year), 0),
            head_name=g.head_name,
            head_username=g.head_username,
        )
        for g in grades
    ]


@dataclass(frozen=True)
class ClassRow:
    id: int
    class_no: str
    name: str
    grade_name: str  # 小学2026级
    grade_label: str  # 一年级
    stage: str
    entry_year: int
    class_type: str
    class_type_label: str
    composite_years: tuple[int, ...]
    teacher_username: str
    teacher_label: str  # 姓名（工号）, or the old free-text name marked as such, or ""
    teacher_missing: bool
    # The picked account holds neither 查看学籍 nor 查看本班学籍: it sees nothing of the
    # class until the 班主任 role is granted on the rights page.
    teacher_without_rights: bool
    students: int
    graduated: bool


def _class_readers() -> set[str]:
    from accounts.rights import users_with_roles

    return {
        u.username
        for u in users_with_roles()
        if u.is_active
        and (u.has_right(Right.REGISTRY_VIEW_OWN) or u.has_right(Right.REGISTRY_VIEW))
    }


def class_rows(today: dt.date | None = None) -> list[ClassRow]:
    names = _labels()
    readers = _class_readers()
    types = dict(ClassType.choices)
    rows = []
    for c in class_list():
        if c.teacher_username:
            teacher = f"{names.get(c.teacher_username, '')}（{c.teacher_username}）"
        elif c.legacy_teacher_name:
            teacher = f"{c.legacy_teacher_name}（原登记，请从用户列表选择）"
        else:
            teacher = ""
        rows.append(
            ClassRow(
                id=c.pk,
                class_no=c.class_no,
                name=c.name,
                grade_name=c.grade_name,
                grade_label=grade_label(c.stage, c.entry_year, today),
                stage=c.stage,
                entry_year=c.entry_year,
                class_type=c.class_type,
                class_type_label=types.get(c.class_type, c.class_type),
                composite_years=tuple(c.composite_years),
                teacher_username=c.teacher_username,
                teacher_label=teacher,
                teacher_missing=not c.teacher_username,
                teacher_without_rights=bool(c.teacher_username)
                and c.teacher_username not in readers,
                students=c.student_count,  # type: ignore[attr-defined]
                graduated=is_graduated(c.stage, c.entry_year, today),
            )
        )
    return rows


# -- the start-of-year checklist -------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    key: str
    label: str
    done: bool
    detail: str
    url: str
    link_label: str


def _some(names: list[str]) -> str:
    shown = "、".join(names[:SHOWN])
    return f"{shown}等 {len(names)} 个" if len(names) > SHOWN else shown


def checklist(*, school_id: int, today: dt.date | None = None) -> list[CheckLine]:
    """The lines of 学年初始化 for the coming intake (registry.classes.services.setup_year), each
    with what is still missing and the page that fixes it."""
    from accounts.rights import registrar_current
    from tenant_apps.grades.models import ClassCourse, TeachingAssignment
    from tenant_apps.grades.terms import current_term

    today = today or timezone.localdate()
    year = setup_year(today)
    school = School.objects.get(pk=school_id)
    stages = [s for s in STAGE_NAME if s in school.stages]
    classes = [c for c in class_rows(today) if not c.graduated]
    lines = []

    # 1. school information reviewed this set-up season (from 1 March)
    reviewed = school.profile_reviewed_at
    season = dt.date(year, 3, 1)
    reviewed_now = reviewed is not None and timezone.localtime(reviewed).date() >= season
    lines.append(
        CheckLine(
            "info",
            "学校基本信息已核对",
            reviewed_now,
            (
                f"{timezone.localtime(reviewed):%Y-%m-%d} 由{school.profile_reviewed_by}核对"
                if reviewed is not None
                else "尚未核对：请核对地址、校长、办学类型、举办者、校区等并保存。"
            ),
            reverse("school_admin:info"),
            "学校基本信息",
        )
    )

    # 2. the intake's grade and classes, per stage
    grades = set(Grade.objects.values_list("stage", "entry_year"))
    missing = []
    for stage in stages:
        name = f"{STAGE_NAME[stage]}{year}级"
        if (stage, year) not in grades:
            missing.append(f"{name}尚未建立年级")
        elif not any(c.stage == stage and c.entry_year == year for c in classes):
            missing.append(f"{name}尚无班级")
    lines.append(
        CheckLine(
            "intake",
            f"{year}级新生年级与班级已建立",
            not missing,
            "；".join(missing) or "已建立",
            reverse("school_admin:grades")
            if any("年级" in m for m in missing)
            else reverse("school_admin:classes"),
            "年级信息" if any("年级" in m for m in missing) else "班级信息",
        )
    )

    # 3. class teachers
    without = [c.name for c in classes if c.teacher_missing]
    powerless = sorted({c.teacher_label for c in classes if c.teacher_without_rights})
    detail = f"未指定：{_some(without)}" if without else ("全部已指定" if classes else "还没有班级")
    if powerless:
        detail += f"；{_some(powerless)}尚无班主任角色，请在“权限设置”中授予"
    lines.append(
        CheckLine(
            "teachers",
            "各班已指定班主任",
            bool(classes) and not without and not powerless,
            detail,
            reverse("school_admin:classes"),
            "班级信息",
        )
    )

    # 4. the registrar
    current = registrar_current()
    lines.append(
        CheckLine(
            "registrar",
            "已任命学籍管理员",
            current is not None,
            f"现任：{current.user}" if current else "尚未任命：请在“权限设置”中任命学籍管理员。",
            reverse("account_rights"),
            "权限设置",
        )
    )

    # 5–6. this term's courses per class, and who enters each course's marks
    term = current_term(today)
    ids = {c.id: c.name for c in classes}
    cells = list(
        ClassCourse.objects.filter(
            school_class_id__in=ids, school_year=term.school_year, term=term.term
        ).values_list("pk", "school_class_id")
    )
    with_courses = {class_id for _pk, class_id in cells}
    no_courses = [name for pk, name in ids.items() if pk not in with_courses]
    lines.append(
        CheckLine(
            "courses",
            f"各班课程已设置（{term.label}）",
            bool(ids) and not no_courses,
            f"未设置：{_some(no_courses)}" if no_courses else ("已设置" if ids else "还没有班级"),
            reverse("grades:class_courses"),
            "班级课程",
        )
    )
    assigned = set(
        TeachingAssignment.objects.filter(class_course_id__in=[pk for pk, _c in cells]).values_list(
            "class_course_id", flat=True
        )
    )
    open_cells = [pk for pk, _c in cells if pk not in assigned]
    lines.append(
        CheckLine(
            "assignments",
            "成绩录入权限已设置",
            bool(cells) and not open_cells,
            (
                f"还有 {len(open_cells)} 门班级课程未指定录入教师"
                if open_cells
                else ("已设置" if cells else "请先设置班级课程")
            ),
            reverse("grades:assignments"),
            "录入权限",
        )
    )

    # 7. per-grade field policy (系统设置) saved for every grade that has classes
    saved = set(FieldEditPolicy.objects.values_list("stage", "entry_year"))
    unsaved = sorted({c.grade_name for c in classes if (c.stage, c.entry_year) not in saved})
    lines.append(
        CheckLine(
            "field_policy",
            "各年级班主任可修改字段已确认",
            bool(classes) and not unsaved,
            f"未确认（仍为默认）：{_some(unsaved)}"
            if unsaved
            else ("已确认" if classes else "还没有班级"),
            reverse("registry:field_settings"),
            "系统设置",
        )
    )
    return lines
