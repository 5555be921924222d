"""Where a class- or grade-changing status change may take the record (调班, 跳级, 留级,
恢复入学资格; domain.md §3.7, §4.1). Read-only; runs in the student's school schema.

A grade is a stage's intake of one year (Grade: stage + entry year). 跳级 goes one grade
up (the cohort that entered a year earlier), 留级 one grade down (a year later), both in
the pupil's stage and among the grades of the current school year (not graduated, not
still to come). 调班 stays in the grade. 恢复入学资格 chooses any class of the stage in the
current school year: the returning pupil joins the cohort he or she now studies with.
"""

from __future__ import annotations

from django.db.models import QuerySet

from common.exceptions import ApplicationError
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.registry.models.classes import STAGE_NAME

MOVE_KINDS = frozenset({"CLASS_CHANGE", "SKIP_GRADE", "REPEAT_GRADE", "RESTORE"})
STEP = {"up": -1, "down": 1}  # entry-year offset of the target grade

MSG_TARGET_REQUIRED = "请选择转入班级。"
MSG_TARGET_INVALID = "所选班级“{name}”不能作为{label}的转入班级：{why}。"


def _current(stage: str, entry_year: int) -> bool:
    """A grade of the current school year (neither graduated nor still to come)."""
    from tenant_apps.registry.classes.services import is_graduated
    from tenant_apps.registry.policy.rules import school_year

    return entry_year <= school_year() and not is_graduated(stage, entry_year)


def target_grade(student: Student, moves: str) -> tuple[str, int] | None:
    """(stage, entry year) of the grade `moves` leads to, None when there is none."""
    klass = student.school_class
    if moves == "grade":
        return klass.stage, klass.entry_year
    if moves in STEP:
        year = klass.entry_year + STEP[moves]
        return (klass.stage, year) if _current(klass.stage, year) else None
    return None


def target_classes(student: Student, moves: str) -> QuerySet[SchoolClass]:
    """The classes the record may move to, in class order."""
    klass = student.school_class
    qs = SchoolClass.objects.filter(stage=klass.stage).order_by("entry_year", "number")
    if moves == "stage":
        return qs.filter(pk__in=[c.pk for c in qs if _current(c.stage, c.entry_year)])
    grade = target_grade(student, moves)
    if grade is None:
        return qs.none()
    qs = qs.filter(entry_year=grade[1])
    return qs.exclude(pk=klass.pk) if moves == "grade" else qs


def why_not(student: Student, moves: str, target: SchoolClass) -> str:
    """Why `target` cannot take the record ("" when it can)."""
    klass = student.school_class
    if target.stage != klass.stage:
        return "不属于学生所在学段"
    if moves == "grade":
        if target.pk == klass.pk:
            return "是学生现在的班级"
        if target.entry_year != klass.entry_year:
            return f"不在{klass.grade_name}；跨年级请办理跳级或留级"
        return ""
    if moves in STEP:
        wanted = klass.entry_year + STEP[moves]
        if target.entry_year != wanted:
            where = "高一个年级" if moves == "up" else "低一个年级"
            return f"须为{where}（{STAGE_NAME[klass.stage]}{wanted}级）的班级"
    if not _current(target.stage, target.entry_year):
        return "该年级不在本学年（已毕业或尚未入学）"
    return ""


def check_target(student: Student, moves: str, label: str, class_id: int | None) -> SchoolClass:
    """The chosen class, or an ApplicationError naming the field target_class."""
    if class_id is None:
        raise ApplicationError(
            MSG_TARGET_REQUIRED, code="invalid", extra={"target_class": [MSG_TARGET_REQUIRED]}
        )
    target = SchoolClass.objects.filter(pk=class_id).first()
    if target is None:
        message = "所选班级不存在，请重新选择。"
        raise ApplicationError(message, code="invalid", extra={"target_class": [message]})
    why = why_not(student, moves, target)
    if why:
        message = MSG_TARGET_INVALID.format(name=target.name, label=label, why=why)
        raise ApplicationError(message, code="invalid", extra={"target_class": [message]})
    return target
