"""Reads of the print centre: which students a document of a scope (one student, a
class, a grade, the school) holds, grouped by class, within what the reader may see.

Who is on which document is decided by registry.counts, the one definition of every
count line: a roster (花名册) lists the 在读 students, the graduates' roster the registered
records with status 毕业, the intake (新生名册) every live record of the entry year, so a
new pupil still waiting for the county's approval is on it, with its registration state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.utils import timezone

from tenant_apps.registry import counts
from tenant_apps.registry.classes.selectors import class_list
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.registry.policy import rules as policy

Scope = Literal["student", "class", "grade", "school"]
SCOPES: tuple[Scope, ...] = ("student", "class", "grade", "school")

DOCUMENTS: dict[str, str] = {
    "intake": "新生名册",
    "roster": "学生花名册",
    "card": "学籍卡片",
    "check": "学生信息核对表",
    "graduates": "毕业生名册",
    "transcript": "成绩单",
}
# The documents whose pages are one student each; the others are lists of a class.
PER_STUDENT = frozenset({"card", "check", "transcript"})
# Documents that show identifiers in full to a reader who may see them (the record owner's
# file and the parent's sheet); every list masks them.
FULL_VALUE_DOCUMENTS = frozenset({"card", "check"})


class NotFound(Exception):
    """The scope names nothing this reader may print (another school's id, a class
    outside the reader's classes): the page answers 404, as for a missing record."""


@dataclass(frozen=True)
class Target:
    """What to print: a document, its scope and the scope's key (a student's identifier,
    a class id, a grade "stage-entry_year"; nothing for the school), plus the year of the
    intake or of graduation."""

    document: str
    scope: Scope
    key: str = ""
    year: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"document": self.document, "scope": self.scope, "key": self.key, "year": self.year}


@dataclass(frozen=True)
class Group:
    """One class's part of a document: it starts on a new page."""

    school_class: SchoolClass
    students: list[Student]


def graduation_year(school_class: SchoolClass) -> int:
    """The calendar year a class graduates in (July after its graduating school year
    began): registry.policy.rules' offsets, one rule for the rollover and this roster."""
    return policy.graduation_year_start(school_class.stage, school_class.entry_year).year + 1


def _document_filter(target: Target) -> Q:
    if target.document == "intake":
        year = target.year or timezone.localdate().year
        return counts.LIVE & Q(entry_year_month__startswith=f"{year:04d}")
    if target.document == "graduates":
        return counts.REGISTERED & Q(status=Student.Status.GRADUATED)
    if target.scope == "student":
        # One student's own sheet can be printed whatever the record's state.
        return counts.LIVE
    return counts.IN_SCHOOL


def target_students(target: Target, *, user: Any) -> QuerySet[Student]:
    """The students of `target` the reader may print, in class then class-number order.
    Raises NotFound when the scope names no class or student of this school in the
    reader's scope (registry.policy.rules.student_scope)."""
    scope = policy.student_scope(user)
    qs = Student.objects.filter(_document_filter(target)).select_related("school_class")
    if scope is not None:
        qs = qs.filter(school_class_id__in=scope)
    if target.scope == "student":
        student = student_find(target.key)
        if student is None or not policy.in_scope(scope, student.school_class_id):
            raise NotFound
        qs = qs.filter(pk=student.pk)
    elif target.scope == "class":
        if not target.key.isdigit() or not SchoolClass.objects.filter(pk=target.key).exists():
            raise NotFound
        if not policy.in_scope(scope, int(target.key)):
            raise NotFound
        qs = qs.filter(school_class_id=int(target.key))
    elif target.scope == "grade":
        stage, _, year = target.key.partition("-")
        if (
            not year.isdigit()
            or not SchoolClass.objects.filter(stage=stage, entry_year=int(year)).exists()
        ):
            raise NotFound
        qs = qs.filter(school_class__stage=stage, school_class__entry_year=int(year))
    if target.document == "graduates" and target.year:
        classes = [c.pk for c in SchoolClass.objects.all() if graduation_year(c) == target.year]
        qs = qs.filter(school_class_id__in=classes)
    return qs.order_by(
        "school_class__stage",
        "school_class__entry_year",
        "school_class__number",
        "number_in_class",
        "pk",
    )


def student_find(key: str) -> Student | None:
    """A live student by identifier (links), 全国学籍号 or ID number (typed on the page)."""
    live = Student.objects.exclude(audit_state=Student.Audit.DELETED)
    key = key.strip()
    if not key:
        return None
    try:
        return live.filter(identifier=uuid.UUID(key)).first()
    except ValueError:
        return live.filter(Q(national_number=key) | Q(id_number=key.upper())).first()


def target_groups(qs: QuerySet[Student]) -> list[Group]:
    """The students by class, each class once, in the queryset's order."""
    groups: list[Group] = []
    for student in qs:
        if not groups or groups[-1].school_class.pk != student.school_class_id:
            groups.append(Group(student.school_class, []))
        groups[-1].students.append(student)
    return groups


def printable_classes(user: Any) -> QuerySet[SchoolClass]:
    """The classes the reader may print, for the print centre's choices."""
    scope = policy.student_scope(user)
    classes = class_list()
    return classes if scope is None else classes.filter(pk__in=scope)


def printable_grades(user: Any) -> list[tuple[str, str]]:
    """(key "stage-entry_year", name) of the grades the reader may print as a whole;
    a reader limited to some classes prints those classes, not grades."""
    if policy.student_scope(user) is not None:
        return []
    seen: dict[str, str] = {}
    for c in class_list():
        seen.setdefault(f"{c.stage}-{c.entry_year}", c.grade_name)
    return list(seen.items())
