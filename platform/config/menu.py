"""The side menu: the seed's six sections, each item shown only with its right."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_noop

from accounts.roles import Right
from common.permissions import Rights, has_any_right


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    right: Rights  # one right, or a tuple of alternatives


@dataclass(frozen=True)
class MenuSection:
    label: str
    items: tuple[MenuItem, ...]


SCHOOL_MENU = (
    MenuSection(
        gettext_noop("学校管理"),
        (
            MenuItem(gettext_noop("学校概况"), "home", Right.SCHOOL_VIEW),
            MenuItem(gettext_noop("学年初始化"), "school_admin:setup", Right.SCHOOL_MANAGE),
            MenuItem(gettext_noop("学校基本信息"), "school_admin:info", Right.SCHOOL_MANAGE),
            MenuItem(gettext_noop("年级信息"), "school_admin:grades", Right.CLASSES_MANAGE),
            MenuItem(gettext_noop("班级信息"), "school_admin:classes", Right.SCHOOL_VIEW),
            MenuItem(gettext_noop("教师信息"), "school_admin:teachers", Right.TEACHERS_MANAGE),
        ),
    ),
    MenuSection(
        gettext_noop("学籍管理"),
        (
            MenuItem(gettext_noop("学生名册"), "registry:student_list", Right.REGISTRY_VIEW),
            MenuItem(gettext_noop("本班学生"), "registry:student_list", Right.REGISTRY_VIEW_OWN),
            MenuItem(gettext_noop("新增学生"), "registry:student_create", Right.REGISTRY_EDIT),
            MenuItem(gettext_noop("学籍审核"), "registry:audit", Right.REGISTRY_APPROVE),
            MenuItem(gettext_noop("问题学籍"), "registry:problems", Right.REGISTRY_EDIT),
            MenuItem(gettext_noop("照片采集"), "registry:photos", Right.PHOTOS_MANAGE),
            MenuItem(gettext_noop("学籍异动"), "registry:change_list", Right.REGISTRY_VIEW),
            MenuItem(gettext_noop("关键数据变更"), "registry:keydata_list", Right.REGISTRY_VIEW),
            MenuItem(gettext_noop("转学业务"), "transfers:case_list", Right.REGISTRY_VIEW),
            MenuItem(gettext_noop("升级与毕业"), "lifecycle:rollover", Right.REGISTRY_EDIT),
            MenuItem(gettext_noop("初中新生接收"), "lifecycle:intake", Right.REGISTRY_EDIT),
        ),
    ),
    MenuSection(
        gettext_noop("数据管理"),
        (
            MenuItem(gettext_noop("批量导入"), "registry:import_start", Right.DATA_MANAGE),
            MenuItem(gettext_noop("营养改善计划数据核对"), "rosters:nutrition", Right.DATA_MANAGE),
            MenuItem(
                gettext_noop("师训平台教师名单核对"), "rosters:teachers", Right.TEACHERS_MANAGE
            ),
            MenuItem(gettext_noop("外部名册"), "rosters:sources", Right.DATA_MANAGE),
            MenuItem(gettext_noop("录取名单与学籍比对"), "rosters:admissions", Right.DATA_MANAGE),
            MenuItem(
                gettext_noop("营养改善计划受益学生"), "rosters:programme", Right.NUTRITION_MANAGE
            ),
            MenuItem(gettext_noop("后台任务"), "jobs:list", Right.DATA_MANAGE),
        ),
    ),
    MenuSection(
        gettext_noop("成绩管理"),
        (
            MenuItem(gettext_noop("成绩录入"), "grades:entry", Right.GRADES_ENTER),
            MenuItem(
                gettext_noop("成绩查看"),
                "grades:class_marks",
                (Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN),
            ),
            MenuItem(gettext_noop("课程设置"), "grades:courses", Right.GRADES_MANAGE),
            MenuItem(gettext_noop("班级课程"), "grades:class_courses", Right.GRADES_MANAGE),
            MenuItem(gettext_noop("录入权限"), "grades:assignments", Right.USERS_MANAGE),
            MenuItem(gettext_noop("成绩导入"), "reports:grades_import", Right.GRADES_ENTER),
        ),
    ),
    MenuSection(
        gettext_noop("查询统计"),
        (
            MenuItem(gettext_noop("统计概览"), "registry:stats", Right.STATS_VIEW),
            MenuItem(gettext_noop("统计报表"), "reports:stats_home", Right.STATS_VIEW),
            MenuItem(
                gettext_noop("综合查询"),
                "reports:query_home",
                (Right.STATS_VIEW, Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN),
            ),
            MenuItem(gettext_noop("证书管理"), "reports:cert_home", Right.CERTIFICATES_MANAGE),
            MenuItem(gettext_noop("成绩统计"), "reports:grades_home", Right.STATS_VIEW),
            MenuItem(gettext_noop("打印中心"), "reports:print_home", Right.REPORTS_PRINT),
        ),
    ),
    MenuSection(
        gettext_noop("系统管理"),
        (
            MenuItem(gettext_noop("用户管理"), "accounts:user_list", Right.USERS_MANAGE),
            MenuItem(gettext_noop("权限设置"), "account_rights", Right.USERS_MANAGE),
            MenuItem(gettext_noop("用户组管理"), "school_admin:groups", Right.USERS_MANAGE),
            MenuItem(gettext_noop("系统设置"), "registry:field_settings", Right.SCHOOL_MANAGE),
            MenuItem(gettext_noop("审计日志"), "audit_log", Right.USERS_MANAGE),
            MenuItem(gettext_noop("数据备份"), "backups:own", Right.SCHOOL_MANAGE),
        ),
    ),
)
PUBLIC_MENU = (
    MenuSection(
        gettext_noop("学校管理"),
        (
            MenuItem(gettext_noop("辖区学校"), "home", Right.BUREAU_SCHOOLS_VIEW),
            MenuItem(gettext_noop("开通学校"), "bureau:school_create", Right.BUREAU_SCHOOLS_MANAGE),
            MenuItem(
                gettext_noop("数据备份"),
                "backups:overview",
                (Right.BUREAU_SCHOOLS_MANAGE, Right.PLATFORM_BUREAUS_MANAGE),
            ),
        ),
    ),
    MenuSection(
        gettext_noop("学籍管理"),
        (
            MenuItem(gettext_noop("学籍审核"), "bureau:audit", Right.BUREAU_AUDIT),
            MenuItem(gettext_noop("佐证审核"), "bureau:evidence", Right.BUREAU_AUDIT),
            MenuItem(gettext_noop("跨县联合认定"), "bureau:joint", Right.BUREAU_AUDIT),
            MenuItem(gettext_noop("异动与转学审核"), "transfers:bureau_cases", Right.BUREAU_AUDIT),
            MenuItem(gettext_noop("合并重复学籍"), "bureau:merge", Right.BUREAU_AUDIT),
            MenuItem(gettext_noop("学籍辅号编排"), "bureau:renumber", Right.BUREAU_RENUMBER),
            MenuItem(
                gettext_noop("国家校验结果导入"), "bureau:verification", Right.BUREAU_SCHOOLS_MANAGE
            ),
            MenuItem(gettext_noop("数据质量"), "bureau:quality_home", Right.BUREAU_SCHOOLS_VIEW),
            MenuItem(gettext_noop("招生比对"), "bureau:admissions", Right.BUREAU_SCHOOLS_VIEW),
            MenuItem(
                gettext_noop("营养改善计划"), "bureau:nutrition_schools", Right.BUREAU_SCHOOLS_VIEW
            ),
        ),
    ),
    MenuSection(
        gettext_noop("查询统计"),
        (
            MenuItem(gettext_noop("统计看板"), "bureau:dashboard", Right.BUREAU_SCHOOLS_VIEW),
            MenuItem(gettext_noop("统计概览"), "bureau:stats", Right.STATS_VIEW),
        ),
    ),
    MenuSection(
        gettext_noop("系统管理"),
        (
            MenuItem(
                gettext_noop("教育局管理"), "bureau:bureau_list", Right.PLATFORM_BUREAUS_MANAGE
            ),
            MenuItem(gettext_noop("账号管理"), "platform_users", Right.PLATFORM_BUREAUS_MANAGE),
            MenuItem(gettext_noop("审计日志"), "audit_log", Right.BUREAU_SCHOOLS_VIEW),
        ),
    ),
)


def _active_url(path: str, urls: list[str]) -> str:
    """The menu entry a page belongs to: an exact match, else the longest item URL the
    path starts with (a student's page stays under 学生名册); "/" only matches itself."""
    if path in urls:
        return path
    prefixes = [u for u in urls if u != "/" and path.startswith(u)]
    return max(prefixes, key=len, default="")


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.must_change_password:
        return {"menu": []}
    sections = PUBLIC_MENU if connection.schema_name == "public" else SCHOOL_MENU
    visible = [
        (section, [(i, reverse(i.url_name)) for i in section.items if has_any_right(user, i.right)])
        for section in sections
    ]
    active = _active_url(request.path, [url for _s, items in visible for _i, url in items])
    menu = [
        {
            "label": section.label,
            "items": [{"label": i.label, "url": url, "active": url == active} for i, url in items],
        }
        for section, items in visible
        if items
    ]
    return {"menu": menu, "on_public_host": connection.schema_name == "public"}
