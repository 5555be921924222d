"""The grades app's facade: what a cross-school flow (the bureau) may do with a school's
courses. The only door from shared_apps into tenant_apps.grades (pyproject.toml, contract
"facade"). Every function takes the school's schema name and plain values, works inside
that school's `school_context` and returns frozen dataclasses, never a model instance
(an instance carried across a schema switch reads or writes the wrong school).

教育一科代为设置 (domain.md §3.14.1): what a school cannot set, the bureau sets for it. The
write goes through grades.services like the school's own, and the school's audit log
records it under the officer's name and bureau, so the school sees who did it. No function
opens its own transaction: the bureau's action (its own log entry and the school's write)
stays one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts.audit import WRITE, audit_record
from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.grades import selectors, services
from tenant_apps.grades.terms import Term, current_term, term_parse
from tenants.context import school_context


@dataclass(frozen=True)
class CourseOption:
    id: int
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class ClassCourses:
    class_id: int
    class_name: str
    stage: str
    course_ids: tuple[int, ...]
    course_names: tuple[str, ...]


@dataclass(frozen=True)
class SchoolCourses:
    school_year: str
    term: int
    term_label: str
    courses: tuple[CourseOption, ...]
    classes: tuple[ClassCourses, ...]


def term_now() -> tuple[str, int]:
    """The current (school year, term), as grade entry counts it (grades.terms)."""
    now = current_term()
    return now.school_year, now.term


def _term(school_year: str, term: int) -> Term:
    found = term_parse(school_year, term)
    if found is None:
        raise ApplicationError("学年或学期无效。", code="invalid")
    return found


def _class_courses(term: Term) -> tuple[ClassCourses, ...]:
    from tenant_apps.registry.classes.selectors import class_list

    by_class: dict[int, list[tuple[int, str]]] = {}
    for cc in selectors.class_course_list(term=term):
        by_class.setdefault(cc.school_class_id, []).append((cc.course_id, cc.course.name))
    return tuple(
        ClassCourses(
            class_id=k.pk,
            class_name=k.name,
            stage=k.stage,
            course_ids=tuple(i for i, _ in by_class.get(k.pk, [])),
            course_names=tuple(n for _, n in by_class.get(k.pk, [])),
        )
        for k in class_list()
    )


def school_courses(*, schema_name: str, school_year: str, term: int) -> SchoolCourses:
    """The school's course list and every class's courses in the term."""
    wanted = _term(school_year, term)
    with school_context(schema_name):
        return SchoolCourses(
            school_year=wanted.school_year,
            term=wanted.term,
            term_label=wanted.label,
            courses=tuple(
                CourseOption(c.pk, c.code, c.name, c.is_active) for c in selectors.course_list()
            ),
            classes=_class_courses(wanted),
        )


def class_courses_set_for_school(
    *,
    schema_name: str,
    class_id: int,
    course_ids: Iterable[int],
    school_year: str,
    term: int,
    actor: Actor,
    bureau_name: str,
) -> ClassCourses:
    """Set one class's courses in the term on the school's behalf (grades.services.
    class_courses_set), recorded in the SCHOOL's audit log with the officer and bureau."""
    wanted = _term(school_year, term)
    with school_context(schema_name):
        before = next((c for c in _class_courses(wanted) if c.class_id == class_id), None)
        if before is None:
            raise ApplicationError("未找到该班级。", code="not_found")
        services.class_courses_set(
            class_id=class_id, course_ids=list(course_ids), term=wanted, actor=actor
        )
        after = next(c for c in _class_courses(wanted) if c.class_id == class_id)
        audit_record(
            actor=actor,
            action=WRITE,
            object_type="class_courses",
            object_id=class_id,
            object_repr=f"{after.class_name}（{wanted.label}）班级课程，{bureau_name}代为设置",
            before={"courses": list(before.course_names)},
            after={"courses": list(after.course_names), "by": f"{bureau_name} {actor.label}"},
            school=schema_name,
        )
        return after
