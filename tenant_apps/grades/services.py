"""Writes of the grades module. Every entry point is one transaction; refusals raise
ApplicationError with a Chinese message naming the class, course, row or field.

* Courses: school-developed ones are added, any can be switched off (national codes stay).
* 班级课程: the set of one class in one term is replaced; "copy" adds a class's set to
  several classes (nothing is removed from them, so their assignments survive).
* 成绩录入权限: one writer per cell. Assigning a cell that another user holds is refused,
  naming the holder, unless the administrator asks to replace him or her.
* Marks: one grid (one cell) at a time, only by a user who may write the cell, only in the
  current term; every student id must belong to the cell's class. The audit entry with
  before/after is written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.models import User
from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.grades.models import ClassCourse, Course, Mark, TeachingAssignment
from tenant_apps.grades.selectors import cell_writable, class_students_qs
from tenant_apps.grades.terms import Term, current_term
from tenant_apps.registry.models import STAGE_NAME, SchoolClass

MSG_CELL_TAKEN = (
    "{cell} 的成绩已由 {holder} 录入。每个班级的每门课程只能有一位录入人；"
    "如需更换，请勾选“替换原录入人”。"
)
MSG_NO_CLASS_COURSE = "{klass} 在{term}没有开设“{course}”，请先在“班级课程”中添加。"
MSG_COURSE_STAGE = "“{course}”不适用于{stage}（{klass}）。"
MSG_COURSE_INACTIVE = "“{course}”已停用，不能添加到班级课程。"
MSG_USER = "未找到可用的账号“{username}”。"
MSG_NOTHING = "请至少选择一个班级和一门课程。"
MSG_LEVEL = "第{row}行（{name}）：等级“{value}”无效，应为优秀、良好、合格或不合格。"
MSG_LEVEL_MISSING = "第{row}行（{name}）：填写了分数，请同时选择等级。"
MSG_SCORE = "第{row}行（{name}）：分数“{value}”无效，应为 0 到 100 之间、最多一位小数的数字。"
MSG_DUPLICATE_ROW = "第{row}行（{name}）：同一学生出现了两次。"
MSG_MARKS_INVALID = "成绩有误，请按提示修改后再保存。"
MSG_EXAM_DATE = "考试日期无效，应为 YYYY-MM-DD 格式的日期。"
COURSE_CODE = re.compile(r"^[0-9A-Za-z]{1,10}$")


def _class(class_id: int) -> SchoolClass:
    klass = SchoolClass.objects.filter(pk=class_id).first()
    if klass is None:
        raise ApplicationError("未找到该班级。", code="not_found")
    return klass


# -- courses ----------------------------------------------------------------------------


@transaction.atomic
def course_create(*, code: str, name: str, stages: Iterable[str], actor: Actor) -> Course:
    """Add a school-developed course (校本课程)."""
    code, name = (code or "").strip(), (name or "").strip()
    fields: dict[str, list[str]] = {}
    if not COURSE_CODE.match(code):
        fields["code"] = ["课程代码应为 1–10 位字母或数字。"]
    elif Course.objects.filter(code__iexact=code).exists():
        fields["code"] = [f"课程代码“{code}”已存在。"]
    if not name or len(name) > 50:
        fields["name"] = ["请填写课程名称（不超过 50 个字）。"]
    wanted = sorted(set(stages))
    if set(wanted) - set(STAGE_NAME):
        fields["stages"] = ["学段无效。"]
    if fields:
        raise ApplicationError(next(iter(fields.values()))[0], code="invalid", extra=fields)
    return Course.objects.create(
        code=code, name=name, stages=wanted, is_national=False, created_by=actor.label
    )


@transaction.atomic
def course_set_active(*, course_id: int, active: bool, actor: Actor) -> Course:
    course = Course.objects.select_for_update().filter(pk=course_id).first()
    if course is None:
        raise ApplicationError("未找到该课程。", code="not_found")
    course.is_active = active
    course.save(update_fields=["is_active"])
    return course


# -- 班级课程 ------------------------------------------------------------------------------


def _check_courses(klass: SchoolClass, courses: Sequence[Course]) -> list[str]:
    problems = []
    for course in courses:
        if not course.is_active:
            problems.append(MSG_COURSE_INACTIVE.format(course=course.name))
        elif not course.fits(klass.stage):
            problems.append(
                MSG_COURSE_STAGE.format(
                    course=course.name, stage=STAGE_NAME[klass.stage], klass=klass.name
                )
            )
    return problems


def _courses(course_ids: Iterable[int]) -> list[Course]:
    ids = set(course_ids)
    courses = list(Course.objects.filter(pk__in=ids))
    if len(courses) != len(ids):
        raise ApplicationError("未找到所选课程。", code="not_found")
    return courses


@transaction.atomic
def class_courses_set(
    *, class_id: int, course_ids: Iterable[int], term: Term, actor: Actor
) -> list[ClassCourse]:
    """Replace the courses of one class in `term`. A removed course takes its grade-entry
    assignment with it; marks already entered stay with the students."""
    klass = _class(class_id)
    courses = _courses(course_ids)
    keep = {c.pk for c in courses}
    current = ClassCourse.objects.filter(
        school_class=klass, school_year=term.school_year, term=term.term
    )
    had = set(current.values_list("course_id", flat=True))
    problems = _check_courses(klass, [c for c in courses if c.pk not in had])
    if problems:
        raise ApplicationError(problems[0], code="invalid", extra={"courses": problems})
    current.exclude(course_id__in=keep).delete()
    for course in courses:
        ClassCourse.objects.get_or_create(
            school_class=klass,
            course=course,
            school_year=term.school_year,
            term=term.term,
            defaults={"created_by": actor.label},
        )
    return list(current.select_related("course"))


@dataclass(frozen=True)
class CopyResult:
    created: int
    existing: int


@transaction.atomic
def class_courses_copy(
    *, source_class_id: int, target_class_ids: Iterable[int], term: Term, actor: Actor
) -> CopyResult:
    """Give several classes the courses of one class in `term` (复制). Courses the targets
    already have are kept, nothing is removed; all or nothing."""
    source = _class(source_class_id)
    courses = [
        cc.course
        for cc in ClassCourse.objects.filter(
            school_class=source, school_year=term.school_year, term=term.term
        ).select_related("course")
    ]
    targets = [_class(pk) for pk in sorted(set(target_class_ids) - {source.pk})]
    if not courses or not targets:
        raise ApplicationError(
            f"{source.name} 在{term.label}还没有课程，或没有选择目标班级。", code="invalid"
        )
    problems = [p for klass in targets for p in _check_courses(klass, courses)]
    if problems:
        raise ApplicationError(problems[0], code="invalid", extra={"courses": problems})
    created = existing = 0
    for klass in targets:
        for course in courses:
            _cc, made = ClassCourse.objects.get_or_create(
                school_class=klass,
                course=course,
                school_year=term.school_year,
                term=term.term,
                defaults={"created_by": actor.label},
            )
            created, existing = created + made, existing + (not made)
    return CopyResult(created, existing)


# -- 成绩录入权限 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignResult:
    assigned: int
    unchanged: int
    replaced: tuple[str, ...]  # "班级·课程：原录入人" of every replaced holder


def _teacher(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ApplicationError(MSG_USER.format(username=username), code="invalid")
    return user


@transaction.atomic
def assignment_set(
    *,
    username: str,
    class_ids: Iterable[int],
    course_ids: Iterable[int],
    term: Term,
    replace: bool = False,
    actor: Actor,
) -> AssignResult:
    """Make `username` the writer of every (class, course) cell of `term` chosen (several
    classes at once). Each cell must exist in 班级课程. A cell held by someone else is
    refused, naming the holder, unless `replace`; then the holder loses the cell. All or
    nothing."""
    user = _teacher(username)
    class_ids, course_ids = sorted(set(class_ids)), sorted(set(course_ids))
    if not class_ids or not course_ids:
        raise ApplicationError(MSG_NOTHING, code="invalid")
    classes = [_class(pk) for pk in class_ids]
    courses = _courses(course_ids)
    # Lock the cells so two administrators cannot hand the same cell to two teachers.
    cells = {
        (cc.school_class_id, cc.course_id): cc
        for cc in ClassCourse.objects.select_for_update(of=("self",))
        .filter(
            school_class_id__in=class_ids,
            course_id__in=course_ids,
            school_year=term.school_year,
            term=term.term,
        )
        .select_related("school_class", "course")
    }
    holders = {
        a.class_course_id: a
        for a in TeachingAssignment.objects.filter(class_course__in=list(cells.values()))
    }
    names = {
        u.username: str(u)
        for u in User.objects.filter(username__in={a.user_username for a in holders.values()})
    }
    problems: list[str] = []
    for klass in classes:
        for course in courses:
            cell = cells.get((klass.pk, course.pk))
            if cell is None:
                problems.append(
                    MSG_NO_CLASS_COURSE.format(
                        klass=klass.name, term=term.label, course=course.name
                    )
                )
                continue
            held = holders.get(cell.pk)
            if held is not None and held.user_username != user.username and not replace:
                problems.append(
                    MSG_CELL_TAKEN.format(
                        cell=f"{klass.name}·{course.name}",
                        holder=names.get(held.user_username, held.user_username),
                    )
                )
    if problems:
        raise ApplicationError(problems[0], code="conflict", extra={"cells": problems})
    assigned = unchanged = 0
    replaced: list[str] = []
    for cell in cells.values():
        held = holders.get(cell.pk)
        if held is not None and held.user_username == user.username:
            unchanged += 1
            continue
        if held is not None:
            replaced.append(f"{cell}：{names.get(held.user_username, held.user_username)}")
            held.user_username, held.assigned_by = user.username, actor.label
            held.save(update_fields=["user_username", "assigned_by", "assigned_at"])
        else:
            TeachingAssignment.objects.create(
                class_course=cell, user_username=user.username, assigned_by=actor.label
            )
        assigned += 1
    return AssignResult(assigned, unchanged, tuple(replaced))


@transaction.atomic
def assignment_copy(
    *,
    username: str,
    source_class_id: int,
    target_class_ids: Iterable[int],
    term: Term,
    replace: bool = False,
    actor: Actor,
) -> AssignResult:
    """Give `username` the same courses in several classes as in one class (复制)."""
    source = _class(source_class_id)
    course_ids = list(
        TeachingAssignment.objects.filter(
            user_username=username,
            class_course__school_class=source,
            class_course__school_year=term.school_year,
            class_course__term=term.term,
        ).values_list("class_course__course_id", flat=True)
    )
    if not course_ids:
        raise ApplicationError(
            f"该用户在{term.label}没有 {source.name} 的成绩录入权限可复制。", code="invalid"
        )
    targets = set(target_class_ids) - {source.pk}
    if not targets:
        raise ApplicationError("请选择要复制到的班级。", code="invalid")
    return assignment_set(
        username=username,
        class_ids=targets,
        course_ids=course_ids,
        term=term,
        replace=replace,
        actor=actor,
    )


@transaction.atomic
def assignment_remove(*, assignment_id: int, actor: Actor) -> None:
    deleted, _ = TeachingAssignment.objects.filter(pk=assignment_id).delete()
    if not deleted:
        raise ApplicationError("未找到该成绩录入权限。", code="not_found")


# -- marks ------------------------------------------------------------------------------------

LEVEL_BY_NAME = {label: value for value, label in Mark.Level.choices}


def _level(value: Any) -> int | None | bool:
    """The level from a label (优秀), its number (4) or blank; False when invalid."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if text in LEVEL_BY_NAME:
        return LEVEL_BY_NAME[text]
    if text.isdigit() and int(text) in Mark.Level.values:
        return int(text)
    return False


def _score(value: Any) -> Decimal | None | bool:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        score = Decimal(text)
    except InvalidOperation:
        return False
    if not score.is_finite() or score < 0 or score > 100 or score != score.quantize(Decimal("0.1")):
        return False
    return score.quantize(Decimal("0.1"))


@dataclass(frozen=True)
class MarksSaved:
    saved: int
    cleared: int
    unchanged: int


def _mark_view(level: int | None, score: Decimal | None) -> dict[str, Any]:
    return {
        "level": Mark.Level(level).label if level else "",
        "score": "" if score is None else str(score),
    }


@transaction.atomic(durable=True)
def marks_save(
    *,
    user: Any,
    class_course_id: int,
    rows: Sequence[Mapping[str, Any]],
    exam_date: str | dt.date | None = None,
    request: Any = None,
) -> MarksSaved:
    """Save one grid in its own transaction (`_grid_save`)."""
    return _grid_save(
        user=user, class_course_id=class_course_id, rows=rows, exam_date=exam_date, request=request
    )


@transaction.atomic(durable=True)
def marks_save_many(
    *,
    user: Any,
    grids: Sequence[tuple[int, Sequence[Mapping[str, Any]]]],
    request: Any = None,
) -> list[MarksSaved]:
    """Save several grids — (class_course_id, rows) each, the marks import of a class —
    in ONE transaction: each under exactly the rules of `marks_save` (the writer of the
    cell, the current term, the class's students, the values), and the first refusal
    undoes every grid before it, so nothing is half-written."""
    return [
        _grid_save(user=user, class_course_id=pk, rows=rows, request=request) for pk, rows in grids
    ]


def _grid_save(
    *,
    user: Any,
    class_course_id: int,
    rows: Sequence[Mapping[str, Any]],
    exam_date: str | dt.date | None = None,
    request: Any = None,
) -> MarksSaved:
    """Save one grid: `rows` are {"student": Student.identifier, "level", "score"}.
    Refused with Http404 (nothing written) when `user` may not write the cell, the cell is
    not of the current term, or a student is not in the cell's class; refused with
    ApplicationError naming the row when a value is wrong. A row with neither level nor
    score clears the student's mark."""
    cell = (
        ClassCourse.objects.select_for_update(of=("self",))
        .select_related("school_class", "course", "assignment")
        .filter(pk=class_course_id)
        .first()
    )
    now_term = current_term()
    if (
        cell is None
        or (cell.school_year, cell.term) != (now_term.school_year, now_term.term)
        or not cell_writable(user, cell)
    ):
        raise Http404
    students = {str(s.identifier): s for s in class_students_qs([cell.school_class_id])}
    order = {ident: i for i, ident in enumerate(students, start=1)}
    wanted = [str(r.get("student", "")) for r in rows]
    if any(ident not in students for ident in wanted):
        # A student of another class or school: refuse the whole grid as not found.
        raise Http404
    date: dt.date | None = None
    fields: dict[str, list[str]] = {}
    if isinstance(exam_date, dt.date):
        date = exam_date
    elif exam_date:
        try:
            date = dt.date.fromisoformat(str(exam_date).strip())
        except ValueError:
            fields["exam_date"] = [MSG_EXAM_DATE]
    parsed: dict[str, tuple[int | None, Decimal | None]] = {}
    for i, (ident, raw) in enumerate(zip(wanted, rows, strict=True)):
        student = students[ident]
        label = {"row": order[ident], "name": student.name}
        key = f"rows[{i}]"
        if ident in parsed:
            fields.setdefault(key, []).append(MSG_DUPLICATE_ROW.format(**label))
            continue
        level, score = _level(raw.get("level")), _score(raw.get("score"))
        if level is False:
            fields.setdefault(key, []).append(MSG_LEVEL.format(value=raw.get("level"), **label))
        if score is False:
            fields.setdefault(key, []).append(MSG_SCORE.format(value=raw.get("score"), **label))
        if level is None and isinstance(score, Decimal):
            fields.setdefault(key, []).append(MSG_LEVEL_MISSING.format(**label))
        parsed[ident] = (
            level if isinstance(level, int) and not isinstance(level, bool) else None,
            score if isinstance(score, Decimal) else None,
        )
    if fields:
        first = next(iter(fields.values()))[0]
        raise ApplicationError(f"{MSG_MARKS_INVALID}{first}", code="invalid", extra=fields)
    existing = {
        m.student_id: m
        for m in Mark.objects.select_for_update().filter(
            student__in=[students[i] for i in parsed],
            course_id=cell.course_id,
            school_year=cell.school_year,
            term=cell.term,
        )
    }
    now = timezone.now()
    actor = Actor.of(user)
    teacher = cell.assignment.user_username if getattr(cell, "assignment", None) else user.username
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    saved = cleared = unchanged = 0
    for ident, (level, score) in parsed.items():
        student = students[ident]
        # The pupil as the log's reader knows them (name and number in class), never
        # the record's internal identifier; a second pupil of the same name and number
        # gets a counter.
        who = student.name
        if student.number_in_class:
            who = f"{student.name}（{student.number_in_class}号）"
        same, n = who, 2
        while who in after:
            who, n = f"{same} {n}", n + 1
        old = existing.get(student.pk)
        if level is None:
            if old is not None:
                before[who] = _mark_view(old.level, old.score)
                after[who] = _mark_view(None, None)
                old.delete()
                cleared += 1
            else:
                unchanged += 1
            continue
        if old is not None and (old.level, old.score, old.exam_date) == (
            level,
            score,
            date or old.exam_date,
        ):
            unchanged += 1
            continue
        before[who] = _mark_view(old.level, old.score) if old else _mark_view(None, None)
        after[who] = _mark_view(level, score)
        Mark.objects.update_or_create(
            student=student,
            course_id=cell.course_id,
            school_year=cell.school_year,
            term=cell.term,
            defaults={
                "level": level,
                "score": score,
                "exam_date": date or (old.exam_date if old else None),
                "teacher_number": teacher,
                "entered_by": actor.label,
                "entered_at": now,
            },
        )
        saved += 1
    audit_record(
        request=request,
        actor=user,
        action=WRITE,
        object_type="marks",
        object_id=cell.pk,
        object_repr=f"{cell}（{now_term.label}）",
        before=before,
        after=after,
    )
    return MarksSaved(saved, cleared, unchanged)
