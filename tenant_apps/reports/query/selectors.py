"""综合查询 reads: a checked definition as a queryset of students, its rows as shown to
the reader, and the choices the builder offers.

Every condition becomes an ORM lookup on Student, or an EXISTS over the family members,
the status changes or the marks, so a student matches at most once and counts stay exact.
The reader's class scope (registry.policy.student_scope) limits results, counts and
exports alike; deleted records are never found (registry.counts.LIVE)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from tenant_apps.grades.models import Course, Mark
from tenant_apps.grades.terms import Term, current_term, school_year_of
from tenant_apps.registry import counts
from tenant_apps.registry.codes import code_tables
from tenant_apps.registry.models import (
    FamilyMember,
    SchoolClass,
    StatusChange,
    Student,
)
from tenant_apps.registry.students.reveal import shown
from tenant_apps.reports.models import SavedQuery
from tenant_apps.reports.query.definition import (
    COLUMNS,
    FIELDS,
    Choices,
    Condition,
    Definition,
    Field,
)

LINE_LABELS = {line.key: line.label for line in counts.status_lines()}
LINE_WHERE = {line.key: line.where for line in counts.status_lines()}


def query_choices(*, scope: set[int] | None) -> Choices:
    """The classes (those in the reader's scope), grades, courses and terms of this
    school, for the builder's widgets and the check of picked values."""
    classes = SchoolClass.objects.order_by("stage", "entry_year", "number")
    if scope is not None:
        classes = classes.filter(pk__in=scope)
    choices = Choices()
    for klass in classes:
        choices.classes[str(klass.pk)] = klass.name
        choices.grades[f"{klass.stage}:{klass.entry_year}"] = klass.grade_name
    for pk, code, name in Course.objects.values_list("pk", "code", "name"):
        choices.courses[code] = name
        choices.course_ids[code] = pk
    # The terms of the last six school years, from the calendar: reading the distinct
    # terms of the marks table would scan it on every page (bench/reports_query.py).
    now = current_term()
    first = int(now.school_year[:4])
    for start in range(first, first - 6, -1):
        year = school_year_of(start)
        for term in (2, 1):
            if start == first and term > now.term:
                continue
            choices.terms[f"{year}-{term}"] = Term(year, term).label
    return choices


def _range(path: str, low: Any, high: Any) -> Q:
    q = Q()
    if low not in ("", None):
        q &= Q(**{f"{path}__gte": low})
    if high not in ("", None):
        q &= Q(**{f"{path}__lte": high})
    return q


def _day(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _empty(f: Field, path: str) -> Q:
    if f.widget in ("date", "yesno", "number"):
        return Q(**{f"{path}__isnull": True})
    return Q(**{path: ""})


def _value_q(f: Field, c: Condition, path: str) -> Q:
    """The lookup of a plain column condition (a student's or a member's column)."""
    if c.op == "empty":
        return _empty(f, path)
    if c.op in ("in", "not_in"):
        q = Q(**{f"{path}__in": list(c.values)})
        return ~q if c.op == "not_in" else q
    if c.op == "is":
        return Q(**{path: c.values[0] == "1"})
    if c.op == "contains":
        return Q(**{f"{path}__contains": c.values[0].strip()})
    if c.op == "equals":
        value = c.values[0].strip()
        return Q(**{path: value.upper() if f.widget == "secret" else value})
    if c.op == "between":
        if f.widget == "date":
            return _range(path, _day(c.low), _day(c.high))
        return _range(path, c.low and Decimal(c.low), c.high and Decimal(c.high))
    raise ValueError(c.op)  # unreachable: definition.validate checked the operator


def _grade_q(c: Condition) -> Q:
    q = Q()
    for value in c.values:
        stage, year = value.split(":")
        q |= Q(school_class__stage=stage, school_class__entry_year=int(year))
    if c.op == "empty":
        return Q(pk__in=[])  # every student has a class
    return ~q if c.op == "not_in" else q


def _marks_q(c: Condition, course_id: int) -> Q:
    # By the course's id, not its code: the EXISTS is then served by the unique index
    # (student, course, school_year, term) alone, without a join to the course table.
    marks = Mark.objects.filter(student=OuterRef("pk"), course_id=course_id)
    if c.term:
        first, second, term = c.term.split("-")
        marks = marks.filter(school_year=f"{first}-{second}", term=int(term))
    if c.op == "score_between":
        marks = marks.filter(_range("score", c.low and Decimal(c.low), c.high and Decimal(c.high)))
    else:
        lookup = {"level_gte": "gte", "level_lte": "lte", "level_eq": "exact"}[c.op]
        marks = marks.filter(**{f"level__{lookup}": int(c.values[0])})
    return Q(Exists(marks))


def condition_q(c: Condition, choices: Choices) -> Q:
    f = FIELDS[c.field]
    if c.field == "line":
        if c.op == "empty":
            return Q(pk__in=[])
        q = Q()
        for key in c.values:
            q |= LINE_WHERE[key]
        return ~q if c.op == "not_in" else q
    if c.field == "history":
        changes = StatusChange.objects.filter(
            student=OuterRef("pk"), state=StatusChange.State.DONE
        ).filter(_range("change_date", _day(c.low), _day(c.high)))
        if c.values:  # no kind picked: a change of any kind
            changes = changes.filter(kind__in=list(c.values))
        return Q(Exists(changes))
    if c.field == "marks":
        return _marks_q(c, choices.course_ids[c.course])
    if c.field == "s.grade":
        return _grade_q(c)
    if c.field == "s.class_no":
        if c.op == "empty":
            return Q(pk__in=[])
        q = Q(school_class_id__in=[int(v) for v in c.values])
        return ~q if c.op == "not_in" else q
    if c.field.startswith("m."):
        members = FamilyMember.objects.filter(student=OuterRef("pk")).filter(_value_q(f, c, f.path))
        return Q(Exists(members))
    return _value_q(f, c, f.path)


def query_students(
    definition: Definition, *, scope: set[int] | None, choices: Choices
) -> QuerySet[Student]:
    """The students a checked definition finds (validated against `choices`), in the
    reader's class scope, sorted."""
    qs = Student.objects.filter(counts.LIVE)
    if scope is not None:
        qs = qs.filter(school_class_id__in=list(scope))
    if definition.conditions:
        where = Q()
        for c in definition.conditions:
            q = condition_q(c, choices)
            where = (where | q) if definition.match == "any" and where else (where & q)
        qs = qs.filter(where)
    tiebreak = ["school_class__class_no", "number_in_class", "pk"]
    if definition.sort:
        path = COLUMNS[definition.sort].sort_path
        return qs.order_by(f"-{path}" if definition.desc else path, *tiebreak)
    return qs.order_by(*tiebreak)


def _needs_family(columns: Iterable[str]) -> bool:
    return any(k.startswith(("m1_", "m2_")) for k in columns)


def _display(key: str, kind: str, table: str | None, value: Any, *, full: bool) -> str:
    if value is None or value == "":
        return ""
    if kind == "yesno":
        return "是" if value else "否"
    if kind == "date8" and isinstance(value, dt.date):
        return value.isoformat()
    if table:
        return code_tables()[table].labels.get(str(value), str(value))
    return str(shown(key, value, reveal=full))


def _row(student: Student, columns: tuple[str, ...], *, full: bool) -> dict[str, str]:
    family: dict[int, FamilyMember] = {}
    if _needs_family(columns):
        family = {m.slot: m for m in student.family.all()}
    row: dict[str, str] = {}
    for key in columns:
        col = COLUMNS[key]
        if key == "class_no":
            row[key] = student.school_class.name
        elif key == "grade":
            row[key] = student.school_class.grade_name
        elif key == "line":
            line = counts.line_of(audit_state=student.audit_state, status=student.status)
            row[key] = LINE_LABELS.get(line, "")
        elif key.startswith(("m1_", "m2_")):
            member = family.get(int(key[1]))
            value = getattr(member, key[3:], None) if member is not None else None
            row[key] = _display(key, col.kind, col.code_table, value, full=full)
        else:
            value = getattr(student, key, None)
            row[key] = _display(key, col.kind, col.code_table, value, full=full)
    return row


def query_rows(
    students: Iterable[Student], columns: tuple[str, ...], *, full: bool = False
) -> list[dict[str, str]]:
    """The chosen columns of each student as the reader sees them: codes as labels, ID
    numbers and phones masked (common.masking through registry reveal.shown) unless
    `full` (an export the reader may and did ask for in full)."""
    return [_row(s, columns, full=full) for s in students]


def query_page_students(qs: QuerySet[Student], columns: tuple[str, ...]) -> QuerySet[Student]:
    """The queryset with what the chosen columns read joined or prefetched."""
    qs = qs.select_related("school_class")
    return qs.prefetch_related("family") if _needs_family(columns) else qs


def query_iter(
    qs: QuerySet[Student], columns: tuple[str, ...], *, full: bool
) -> Iterator[dict[str, str]]:
    """Every row of a (possibly large) result, read in chunks, for exports."""
    chunk = 2000
    for student in query_page_students(qs, columns).iterator(chunk_size=chunk):
        yield _row(student, columns, full=full)


def saved_query_list(*, owner: str) -> QuerySet[SavedQuery]:
    return SavedQuery.objects.filter(owner_username=owner).order_by("-updated_at")


def saved_query_get(*, owner: str, query_id: Any) -> SavedQuery | None:
    """The owner's saved query, or None: another user's (or another school's, which is
    not in this schema at all) is not found."""
    return SavedQuery.objects.filter(owner_username=owner, pk=query_id).first()
