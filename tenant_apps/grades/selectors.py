"""Reads of the grades module: course lists, cells, who may write a cell, grids, marks.

Who may write a cell (class, course, term) — the only rule, used by the entry page, the
API and the 交叉授权 warning alike:

* the holder of the cell's TeachingAssignment (成绩录入权限), and
* an ordinary user (accounts.rights.PRIVILEGED_ROLES excluded) who can write the class
  through class rights (班主任 or a ClassRight with write access),

in both cases only while the account is active and holds 成绩录入 (grades.enter). The
second path is what the national system's 班级管理权限 implies; it is also how a cell
gets a second writer, which the warning reports (domain.md §1.3.3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from accounts.rights import PRIVILEGED_ROLES, users_with_roles
from accounts.roles import Right
from tenant_apps.grades.models import ClassCourse, Course, Mark, TeachingAssignment
from tenant_apps.grades.terms import TERM_NAMES, Term, current_term
from tenant_apps.registry.models import ClassRight, SchoolClass, Student
from tenant_apps.registry.students.selectors import LIVE_STATES


def course_list(*, active_only: bool = False) -> QuerySet[Course]:
    qs = Course.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def class_course_list(
    *, term: Term, class_ids: Iterable[int] | None = None
) -> QuerySet[ClassCourse]:
    qs = ClassCourse.objects.filter(school_year=term.school_year, term=term.term).select_related(
        "school_class", "course", "assignment"
    )
    if class_ids is not None:
        qs = qs.filter(school_class_id__in=list(class_ids))
    return qs.order_by(
        "school_class__stage", "school_class__entry_year", "school_class__number", "course__code"
    )


def class_course_get(*, class_course_id: int) -> ClassCourse | None:
    return (
        ClassCourse.objects.select_related("school_class", "course", "assignment")
        .filter(pk=class_course_id)
        .first()
    )


def assignment_list(*, term: Term) -> QuerySet[TeachingAssignment]:
    return (
        TeachingAssignment.objects.filter(
            class_course__school_year=term.school_year, class_course__term=term.term
        )
        .select_related("class_course__school_class", "class_course__course")
        .order_by(
            "user_username", "class_course__school_class__class_no", "class_course__course__code"
        )
    )


def user_names() -> dict[str, str]:
    """{username: "姓名（工号）"} of every account, for showing who holds a cell."""
    return {u.username: str(u) for u in User.objects.only("username", "full_name")}


# -- who may write a cell ----------------------------------------------------------------


def class_writers() -> dict[int, set[str]]:
    """{class id: usernames that can write the class through class rights}."""
    writers: dict[int, set[str]] = {}
    for pk, username in SchoolClass.objects.exclude(teacher_username="").values_list(
        "pk", "teacher_username"
    ):
        writers.setdefault(pk, set()).add(username)
    for username, pk in ClassRight.objects.filter(can_write=True).values_list(
        "user_username", "school_class_id"
    ):
        writers.setdefault(pk, set()).add(username)
    return writers


def _may_enter(user: Any) -> bool:
    return bool(user.is_active and user.has_right(Right.GRADES_ENTER))


def _ordinary(user: Any) -> bool:
    return not (user.role_codes & PRIVILEGED_ROLES)


def user_class_write_ids(user: Any) -> set[int]:
    """Classes whose cells an ordinary user may write through class rights."""
    if not (_may_enter(user) and _ordinary(user)):
        return set()
    return {pk for pk, users in class_writers().items() if user.username in users}


def cell_writable(user: Any, cell: ClassCourse) -> bool:
    """May `user` enter the marks of `cell`? (The rule in the module docstring; the term
    is checked by the caller, since only the current term is open for entry.)"""
    if not _may_enter(user):
        return False
    assignment = getattr(cell, "assignment", None)
    if assignment is not None and assignment.user_username == user.username:
        return True
    return cell.school_class_id in user_class_write_ids(user)


@dataclass(frozen=True)
class Cell:
    id: int
    class_id: int
    class_name: str
    course_code: str
    course_name: str
    school_year: str
    term: int
    via: str  # "assignment" or "class"
    student_count: int
    marked: int


def user_cells(user: Any, *, term: Term | None = None) -> list[Cell]:
    """The cells `user` may enter marks for in `term` (the current one by default)."""
    term = term or current_term()
    if not _may_enter(user):
        return []
    by_class = user_class_write_ids(user)
    cells = [
        c
        for c in class_course_list(term=term)
        if (getattr(c, "assignment", None) and c.assignment.user_username == user.username)
        or c.school_class_id in by_class
    ]
    counts = _student_counts([c.school_class_id for c in cells])
    marked = _marked_counts(cells, term)
    return [
        Cell(
            id=c.pk,
            class_id=c.school_class_id,
            class_name=c.school_class.name,
            course_code=c.course.code,
            course_name=c.course.name,
            school_year=c.school_year,
            term=c.term,
            via="assignment"
            if getattr(c, "assignment", None) and c.assignment.user_username == user.username
            else "class",
            student_count=counts.get(c.school_class_id, 0),
            marked=marked.get(c.pk, 0),
        )
        for c in cells
    ]


def _student_counts(class_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for pk in class_students_qs(class_ids).values_list("school_class_id", flat=True):
        counts[pk] = counts.get(pk, 0) + 1
    return counts


def _marked_counts(cells: list[ClassCourse], term: Term) -> dict[int, int]:
    if not cells:
        return {}
    by_key = {(c.school_class_id, c.course_id): c.pk for c in cells}
    counts: dict[int, int] = {}
    for class_id, course_id in Mark.objects.filter(
        school_year=term.school_year,
        term=term.term,
        course_id__in={c.course_id for c in cells},
        student__school_class_id__in={c.school_class_id for c in cells},
    ).values_list("student__school_class_id", "course_id"):
        pk = by_key.get((class_id, course_id))
        if pk is not None:
            counts[pk] = counts.get(pk, 0) + 1
    return counts


@dataclass(frozen=True)
class CellConflict:
    class_course_id: int
    class_id: int
    label: str  # "小学2024级(01)班·语文（2026-2027学年第一学期）"
    writers: tuple[str, ...]  # "姓名（工号）"


def course_cross_authorisations(*, term: Term | None = None) -> list[CellConflict]:
    """Cells of `term` (current by default) that two or more users may write."""
    term = term or current_term()
    users = {u.username: u for u in users_with_roles() if _may_enter(u)}
    ordinary = {n for n, u in users.items() if _ordinary(u)}
    by_class = class_writers()
    found = []
    for cell in class_course_list(term=term):
        writers = {n for n in by_class.get(cell.school_class_id, set()) if n in ordinary}
        assignment = getattr(cell, "assignment", None)
        if assignment is not None and assignment.user_username in users:
            writers.add(assignment.user_username)
        if len(writers) >= 2:
            found.append(
                CellConflict(
                    class_course_id=cell.pk,
                    class_id=cell.school_class_id,
                    label=f"{cell.school_class.name}·{cell.course.name}（{term.label}）",
                    writers=tuple(str(users[n]) for n in sorted(writers)),
                )
            )
    return found


# -- students and marks --------------------------------------------------------------------


def class_students_qs(class_ids: Iterable[int]) -> QuerySet[Student]:
    """The students whose marks a class's grid holds: studying, not deleted."""
    return Student.objects.filter(
        school_class_id__in=list(class_ids),
        audit_state__in=LIVE_STATES,
        status=Student.Status.STUDYING,
    ).order_by("number_in_class", "pk")


@dataclass(frozen=True)
class GridRow:
    row: int
    student_id: int
    identifier: str
    number: int | None
    name: str
    level: int | None
    level_name: str
    score: str
    entered_by: str
    entered_at: Any
    exam_date: Any


def grid_rows(cell: ClassCourse) -> list[GridRow]:
    students = list(class_students_qs([cell.school_class_id]))
    marks = {
        m.student_id: m
        for m in Mark.objects.filter(
            student__in=students,
            course_id=cell.course_id,
            school_year=cell.school_year,
            term=cell.term,
        )
    }
    rows = []
    for i, s in enumerate(students, start=1):
        m = marks.get(s.pk)
        rows.append(
            GridRow(
                row=i,
                student_id=s.pk,
                identifier=str(s.identifier),
                number=s.number_in_class,
                name=s.name,
                level=m.level if m else None,
                level_name=m.get_level_display() if m else "",
                score="" if m is None or m.score is None else str(m.score),
                entered_by=m.entered_by if m else "",
                entered_at=m.entered_at if m else None,
                exam_date=m.exam_date if m else None,
            )
        )
    return rows


def student_marks(*, student_id: int) -> list[dict[str, Any]]:
    """A student's marks by school year and term (newest first), then course code."""
    groups: dict[tuple[str, int], list[Mark]] = {}
    for m in (
        Mark.objects.filter(student_id=student_id)
        .select_related("course")
        .order_by("-school_year", "-term", "course__code")
    ):
        groups.setdefault((m.school_year, m.term), []).append(m)
    return [
        {"label": f"{year}学年{TERM_NAMES.get(term, term)}", "marks": marks}
        for (year, term), marks in groups.items()
    ]


def class_marks(*, class_id: int, term: Term) -> dict[str, Any]:
    """The read-only table of one class in one term: courses × students."""
    courses = [c.course for c in class_course_list(term=term, class_ids=[class_id])]
    students = list(class_students_qs([class_id]))
    marks = {
        (m.student_id, m.course_id): m
        for m in Mark.objects.filter(
            student__in=students, school_year=term.school_year, term=term.term
        )
    }
    return {
        "courses": courses,
        "rows": [
            {"student": s, "marks": [marks.get((s.pk, c.pk)) for c in courses]} for s in students
        ],
    }


# -- reads for the report app (tenant_apps.reports.gradestats) ------------------------------


@dataclass(frozen=True)
class MarkFact:
    """One mark as the statistics count it: the student's class now, the course, the
    term, the level and the score (None when only a level was entered)."""

    class_id: int
    course_id: int
    school_year: str
    term: int
    level: int
    score: Any  # Decimal | None


def mark_facts(*, terms: Iterable[Term], class_ids: Iterable[int] | None = None) -> list[MarkFact]:
    """Every mark of `terms` of a student whose record is not deleted, by the student's
    class (a pupil who left keeps counting in the term he or she was marked in)."""
    wanted = list(terms)
    if not wanted:
        return []
    qs = Mark.objects.filter(
        school_year__in={t.school_year for t in wanted},
        term__in={t.term for t in wanted},
        student__audit_state__in=LIVE_STATES,
        student__school_class__isnull=False,
    )
    if class_ids is not None:
        qs = qs.filter(student__school_class_id__in=list(class_ids))
    keys = {(t.school_year, t.term) for t in wanted}
    return [
        MarkFact(*row)
        for row in qs.values_list(
            "student__school_class_id", "course_id", "school_year", "term", "level", "score"
        )
        if (row[2], row[3]) in keys
    ]


def teaching_cells(*, username: str) -> set[tuple[int, int, str, int]]:
    """(class id, course id, school year, term) of every cell `username` holds in
    成绩录入权限, in any term: the courses a subject teacher teaches."""
    return {
        (cid, course, year, term)
        for cid, course, year, term in TeachingAssignment.objects.filter(
            user_username=username
        ).values_list(
            "class_course__school_class_id",
            "class_course__course_id",
            "class_course__school_year",
            "class_course__term",
        )
    }
