"""Roles (domain.md §1.2) and the rights they carry.

Every role is an auth Group named by its code. Rights are deny-by-default: a user may do
exactly what the union of his or her roles lists here. School roles exist in each school's
schema, bureau and platform roles in the public schema.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    SCHOOL_ADMIN = "school_admin", "学校系统管理员"
    REGISTRAR = "registrar", "学籍管理员"
    SCHOOL_APPROVER = "school_approver", "学籍主管领导"
    PRINCIPAL = "principal", "校长"
    CLASS_TEACHER = "class_teacher", "班主任"
    SUBJECT_TEACHER = "subject_teacher", "任课教师"
    ALL_TEACHERS = "all_teachers", "全体教师"
    BUREAU_REGISTRAR = "bureau_registrar", "教育局学籍管理员"
    BUREAU_APPROVER = "bureau_approver", "教育局学籍主管领导"
    PLATFORM_OPERATOR = "platform_operator", "平台运营人员"


SCHOOL_ROLES = (
    Role.SCHOOL_ADMIN,
    Role.REGISTRAR,
    Role.SCHOOL_APPROVER,
    Role.PRINCIPAL,
    Role.CLASS_TEACHER,
    Role.SUBJECT_TEACHER,
    Role.ALL_TEACHERS,
)
PUBLIC_ROLES = (Role.BUREAU_REGISTRAR, Role.BUREAU_APPROVER, Role.PLATFORM_OPERATOR)


class Right(models.TextChoices):
    SCHOOL_VIEW = "school.view", "查看学校信息"
    SCHOOL_MANAGE = "school.manage", "维护学校信息"
    # Grades (年级段长) and classes (班主任, merge, delete): 学校信息管理 and 班级信息管理.
    CLASSES_MANAGE = "classes.manage", "年级与班级管理"
    REGISTRY_VIEW = "registry.view", "查看学籍"
    # Class teachers: the students of their own classes only (class rights), and only
    # the fields the school has opened for the grade (registry.policy.rules, 系统设置).
    REGISTRY_VIEW_OWN = "registry.view_own", "查看本班学籍"
    REGISTRY_EDIT_OWN = "registry.edit_own", "修改本班学籍（限开放字段）"
    REGISTRY_EDIT = "registry.edit", "维护学籍"
    REGISTRY_APPROVE = "registry.approve", "学籍学校审核"
    DATA_MANAGE = "data.manage", "数据导入导出"
    GRADES_ENTER = "grades.enter", "成绩录入"
    # Courses and each class's courses per term (课程设置, 班级课程); a function right of
    # its own so the school can hand it to 教务 without 维护学校信息 (backups, 系统设置).
    GRADES_MANAGE = "grades.manage", "课程设置"
    STATS_VIEW = "stats.view", "查询统计"
    # 打印中心 (rosters, 学籍卡片, 信息核对表, 成绩单) and 综合查询's print and export.
    REPORTS_PRINT = "reports.print", "打印中心"
    # 学籍证明 and 毕业证书: numbering, issue, reprint, void (tenant_apps.reports.certificates).
    CERTIFICATES_MANAGE = "certificates.manage", "证书管理"
    USERS_MANAGE = "users.manage", "用户管理"
    # 教师信息管理: teacher records (ID numbers, phones), their import and export.
    TEACHERS_MANAGE = "teachers.manage", "教师信息管理"
    # 照片采集 (domain §3.13): upload, accept, bulk import and export of student photos.
    # Maintained by the school, never by class teachers: no class right reaches it.
    PHOTOS_MANAGE = "photos.manage", "照片采集"
    # 营养改善计划受益学生 (domain §3.12): ticking beneficiaries and the monthly roster.
    # The school's registrar, never class teachers: no class right reaches it.
    NUTRITION_MANAGE = "nutrition.manage", "营养改善计划受益学生"
    BUREAU_SCHOOLS_VIEW = "bureau.schools.view", "查看辖区学校"
    BUREAU_SCHOOLS_MANAGE = "bureau.schools.manage", "开通与停用学校"
    BUREAU_AUDIT = "bureau.audit", "学籍教育局审核"
    BUREAU_RENUMBER = "bureau.renumber", "学籍辅号编排与锁定"
    PLATFORM_BUREAUS_MANAGE = "platform.bureaus.manage", "开通教育局"


R = Right
ROLE_RIGHTS: dict[str, frozenset[str]] = {
    Role.SCHOOL_ADMIN: frozenset(
        {
            R.SCHOOL_VIEW,
            R.SCHOOL_MANAGE,
            R.CLASSES_MANAGE,
            R.USERS_MANAGE,
            R.STATS_VIEW,
            R.REGISTRY_VIEW,
            R.GRADES_MANAGE,
            R.TEACHERS_MANAGE,
        }
    ),
    Role.REGISTRAR: frozenset(
        {
            R.SCHOOL_VIEW,
            R.REGISTRY_VIEW,
            R.REGISTRY_EDIT,
            R.DATA_MANAGE,
            R.STATS_VIEW,
            R.REPORTS_PRINT,
            R.CERTIFICATES_MANAGE,
            R.CLASSES_MANAGE,
            R.TEACHERS_MANAGE,
            R.PHOTOS_MANAGE,
            R.NUTRITION_MANAGE,
        }
    ),
    Role.SCHOOL_APPROVER: frozenset(
        {R.SCHOOL_VIEW, R.REGISTRY_VIEW, R.REGISTRY_APPROVE, R.STATS_VIEW}
    ),
    Role.PRINCIPAL: frozenset({R.SCHOOL_VIEW, R.REGISTRY_VIEW, R.REGISTRY_APPROVE, R.STATS_VIEW}),
    Role.CLASS_TEACHER: frozenset({R.SCHOOL_VIEW, R.REGISTRY_VIEW_OWN, R.REGISTRY_EDIT_OWN}),
    # Grade entry only, for the cells assigned in 成绩录入权限 (tenant_apps.grades).
    Role.SUBJECT_TEACHER: frozenset({R.SCHOOL_VIEW, R.GRADES_ENTER}),
    # The default group is read-only for the school (domain.md §1.3.5).
    Role.ALL_TEACHERS: frozenset({R.SCHOOL_VIEW}),
    Role.BUREAU_REGISTRAR: frozenset(
        {R.BUREAU_SCHOOLS_VIEW, R.BUREAU_SCHOOLS_MANAGE, R.STATS_VIEW, R.BUREAU_RENUMBER}
    ),
    Role.BUREAU_APPROVER: frozenset({R.BUREAU_SCHOOLS_VIEW, R.BUREAU_AUDIT, R.STATS_VIEW}),
    Role.PLATFORM_OPERATOR: frozenset({R.PLATFORM_BUREAUS_MANAGE, R.BUREAU_SCHOOLS_VIEW}),
}


# The default group 全体教师 (domain.md §1.3.5) is no list the school keeps: every active
# account holding one of these roles is a member (accounts.groups.default_group_members)
# and inherits the group's rights, ROLE_RIGHTS[ALL_TEACHERS]. The role 全体教师 itself
# marks a teacher who has no class or course yet.
DEFAULT_GROUP_ROLES: frozenset[str] = frozenset(
    {Role.CLASS_TEACHER, Role.SUBJECT_TEACHER, Role.ALL_TEACHERS}
)


def rights_for_roles(roles: set[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_RIGHTS.get(role, frozenset())
    if roles & DEFAULT_GROUP_ROLES:
        granted |= ROLE_RIGHTS[Role.ALL_TEACHERS]
    return frozenset(granted)


# Every right a school account can hold: what the school's roles carry, and nothing of
# the bureau or the platform (the choices for function rights granted on top of roles).
SCHOOL_RIGHTS: frozenset[str] = rights_for_roles(set(SCHOOL_ROLES))
