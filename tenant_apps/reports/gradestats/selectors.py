"""Grade statistics (成绩统计, issue 15 item 6; domain.md §3.14, §3.15): 平均分, the level
distribution and the pass rate per course, grade and class in a term, class against class
within a grade and term against term.

Definitions, the same on every page, export and API:

* A mark counts once in the term it was entered for, under the student's class (the grades
  app's `mark_facts`); deleted records do not count.
* 平均分 is the mean of the scores entered (a mark with only a level has none), rounded
  half up to one decimal; "—" (None) when no score was entered.
* The distribution counts the four levels (Mark.Level); each rate is its share of the
  marks, in percent to one decimal.
* 及格率 (pass rate) is the share of marks at 合格 or above.

Who sees what (scope): holders of 查看学籍 or 课程设置 the whole school; anyone else with
查询统计 the marks of the classes the registry lets him or her see (a class teacher's own
classes, registry.policy.rules.student_scope) and of the cells he or she holds in
成绩录入权限 (a subject teacher's courses, in the terms assigned).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from accounts.roles import Right
from tenant_apps.grades import selectors as grades
from tenant_apps.grades.models import Mark
from tenant_apps.grades.terms import Term
from tenant_apps.registry.models import SchoolClass
from tenant_apps.registry.policy.rules import student_scope

LEVELS = (Mark.Level.EXCELLENT, Mark.Level.GOOD, Mark.Level.PASS, Mark.Level.FAIL)
ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class Scope:
    every: bool
    classes: frozenset[int] = frozenset()
    cells: frozenset[tuple[int, int, str, int]] = frozenset()

    def sees(self, class_id: int, course_id: int, school_year: str, term: int) -> bool:
        return (
            self.every
            or class_id in self.classes
            or (class_id, course_id, school_year, term) in self.cells
        )

    def class_ids(self) -> set[int] | None:
        """The classes any of whose marks are visible (None: every class)."""
        if self.every:
            return None
        return set(self.classes) | {c[0] for c in self.cells}


def scope_for(user: Any) -> Scope:
    if user.has_right(Right.REGISTRY_VIEW) or user.has_right(Right.GRADES_MANAGE):
        return Scope(every=True)
    return Scope(
        every=False,
        classes=frozenset(student_scope(user) or set()),
        cells=frozenset(grades.teaching_cells(username=user.username)),
    )


@dataclass(frozen=True)
class Stat:
    """The figures of one group of marks."""

    marks: int
    scored: int
    average: Decimal | None
    levels: tuple[int, int, int, int]  # 优秀, 良好, 合格, 不合格
    pass_rate: Decimal | None

    @property
    def level_rates(self) -> tuple[Decimal | None, ...]:
        return tuple(_percent(n, self.marks) for n in self.levels)


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def stat_of(facts: Iterable[grades.MarkFact]) -> Stat:
    levels = dict.fromkeys(LEVELS, 0)
    total = Decimal(0)
    marks = scored = 0
    for f in facts:
        marks += 1
        levels[Mark.Level(f.level)] += 1
        if f.score is not None:
            scored += 1
            total += Decimal(f.score)
    average = (total / scored).quantize(ONE_DECIMAL, ROUND_HALF_UP) if scored else None
    passed = levels[Mark.Level.EXCELLENT] + levels[Mark.Level.GOOD] + levels[Mark.Level.PASS]
    return Stat(
        marks=marks,
        scored=scored,
        average=average,
        levels=(
            levels[Mark.Level.EXCELLENT],
            levels[Mark.Level.GOOD],
            levels[Mark.Level.PASS],
            levels[Mark.Level.FAIL],
        ),
        pass_rate=_percent(passed, marks),
    )


@dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]  # the row's lead cells (course; grade, course; class, course...)
    stat: Stat


@dataclass(frozen=True)
class StatTable:
    key: str  # "course", "grade", "class", "classes", "terms"
    title: str
    lead: tuple[str, ...]  # headers of the lead cells
    rows: tuple[Row, ...]

    STAT_HEADERS = (
        "成绩数",
        "有分数",
        "平均分",
        "优秀",
        "良好",
        "合格",
        "不合格",
        "优秀率%",
        "良好率%",
        "合格率%",
        "不合格率%",
        "及格率%",
    )

    @property
    def headers(self) -> tuple[str, ...]:
        return self.lead + self.STAT_HEADERS

    def values(self) -> list[list[object]]:
        """Each row as cells: the lead labels, then the figures (None where undefined)."""
        return [
            [
                *r.labels,
                r.stat.marks,
                r.stat.scored,
                r.stat.average,
                *r.stat.levels,
                *r.stat.level_rates,
                r.stat.pass_rate,
            ]
            for r in self.rows
        ]


# -- look-ups -------------------------------------------------------------------------------


def grade_key(klass: SchoolClass) -> str:
    return f"{klass.stage}-{klass.entry_year}"


def _classes() -> dict[int, SchoolClass]:
    return {c.pk: c for c in SchoolClass.objects.order_by("stage", "entry_year", "number", "pk")}


def _courses() -> dict[int, Any]:
    return {c.pk: c for c in grades.course_list()}


def _visible(facts: Sequence[grades.MarkFact], scope: Scope) -> list[grades.MarkFact]:
    return [f for f in facts if scope.sees(f.class_id, f.course_id, f.school_year, f.term)]


def _facts(terms: Sequence[Term], scope: Scope) -> list[grades.MarkFact]:
    return _visible(grades.mark_facts(terms=terms, class_ids=scope.class_ids()), scope)


@dataclass(frozen=True)
class GradeOption:
    key: str
    name: str


def grade_options(scope: Scope) -> list[GradeOption]:
    visible = scope.class_ids()
    seen: dict[str, str] = {}
    for klass in _classes().values():
        if visible is None or klass.pk in visible:
            seen.setdefault(grade_key(klass), klass.grade_name)
    return [GradeOption(k, v) for k, v in seen.items()]


def class_options(scope: Scope) -> list[SchoolClass]:
    visible = scope.class_ids()
    return [c for c in _classes().values() if visible is None or c.pk in visible]


def course_options(scope: Scope, terms: Sequence[Term]) -> list[Any]:
    """The courses any visible class has in `terms` (班级课程) or has marks in."""
    keys = {(t.school_year, t.term) for t in terms}
    used = {
        cc.course_id
        for t in terms
        for cc in grades.class_course_list(term=t, class_ids=scope.class_ids())
        if scope.sees(cc.school_class_id, cc.course_id, cc.school_year, cc.term)
    }
    used |= {f.course_id for f in _facts(terms, scope) if (f.school_year, f.term) in keys}
    return [c for c in _courses().values() if c.pk in used]


# -- the tables -----------------------------------------------------------------------------


def course_table(*, term: Term, scope: Scope) -> StatTable:
    """Per course, over every visible class of the school."""
    facts = _facts([term], scope)
    courses = _courses()
    used = sorted({f.course_id for f in facts}, key=lambda pk: courses[pk].code)
    return StatTable(
        "course",
        f"{term.label} 各课程成绩",
        ("课程",),
        tuple(
            Row((courses[pk].name,), stat_of(f for f in facts if f.course_id == pk)) for pk in used
        ),
    )


def grade_table(*, term: Term, scope: Scope) -> StatTable:
    """Per grade (年级) and course."""
    facts = _facts([term], scope)
    classes, courses = _classes(), _courses()
    groups: dict[tuple[str, int], list[grades.MarkFact]] = {}
    for f in facts:
        groups.setdefault((grade_key(classes[f.class_id]), f.course_id), []).append(f)
    order = {g.key: i for i, g in enumerate(grade_options(Scope(every=True)))}
    names = {grade_key(c): c.grade_name for c in classes.values()}
    rows = [
        Row((names[g], courses[pk].name), stat_of(fs))
        for (g, pk), fs in sorted(
            groups.items(), key=lambda i: (order[i[0][0]], courses[i[0][1]].code)
        )
    ]
    return StatTable("grade", f"{term.label} 各年级成绩", ("年级", "课程"), tuple(rows))


def class_table(
    *, term: Term, scope: Scope, grade: str = "", course_id: int | None = None
) -> StatTable:
    """Per class and course: every course the class has in the term (班级课程), a course
    without marks included (0 marks, no average), plus any course marked without one."""
    facts = _facts([term], scope)
    classes, courses = _classes(), _courses()
    cells = {
        (cc.school_class_id, cc.course_id)
        for cc in grades.class_course_list(term=term, class_ids=scope.class_ids())
        if scope.sees(cc.school_class_id, cc.course_id, term.school_year, term.term)
    }
    groups: dict[tuple[int, int], list[grades.MarkFact]] = {key: [] for key in cells}
    for f in facts:
        groups.setdefault((f.class_id, f.course_id), []).append(f)
    order = {pk: i for i, pk in enumerate(classes)}
    keys = [
        k
        for k in groups
        if (not grade or grade_key(classes[k[0]]) == grade)
        and (course_id is None or k[1] == course_id)
    ]
    keys.sort(key=lambda k: (order[k[0]], courses[k[1]].code))
    return StatTable(
        "class",
        f"{term.label} 各班级成绩",
        ("班级", "课程"),
        tuple(Row((classes[c].name, courses[k].name), stat_of(groups[(c, k)])) for c, k in keys),
    )


def classes_compare(*, term: Term, scope: Scope, grade: str, course_id: int | None) -> StatTable:
    """横向对比: the classes of one grade side by side, for one course or all courses."""
    facts = _facts([term], scope)
    classes, courses = _classes(), _courses()
    in_grade = [c for c in classes.values() if grade_key(c) == grade]
    visible = scope.class_ids()
    in_grade = [c for c in in_grade if visible is None or c.pk in visible]
    course = courses.get(course_id) if course_id else None
    grade_name = in_grade[0].grade_name if in_grade else ""
    what = course.name if course else "全部课程"
    title = f"{term.label} {grade_name} 班级对比（{what}）"
    return StatTable(
        "classes",
        title,
        ("班级",),
        tuple(
            Row(
                (c.name,),
                stat_of(
                    f
                    for f in facts
                    if f.class_id == c.pk and (course is None or f.course_id == course.pk)
                ),
            )
            for c in in_grade
        ),
    )


def terms_compare(
    *,
    terms: Sequence[Term],
    scope: Scope,
    course_id: int | None,
    class_id: int | None = None,
    grade: str = "",
) -> StatTable:
    """纵向对比: one course (or all) of the school, a grade or a class, term by term,
    oldest first."""
    ordered = sorted(terms, key=lambda t: (t.school_year, t.term))
    facts = _facts(ordered, scope)
    classes, courses = _classes(), _courses()
    if class_id is not None:
        facts = [f for f in facts if f.class_id == class_id]
    if grade:
        facts = [f for f in facts if grade_key(classes[f.class_id]) == grade]
    if course_id is not None:
        facts = [f for f in facts if f.course_id == course_id]
    what = courses[course_id].name if course_id in courses else "全部课程"
    where = classes[class_id].name if class_id in classes else ""
    return StatTable(
        "terms",
        f"学期对比 {where}（{what}）",
        ("学期",),
        tuple(
            Row(
                (t.label,),
                stat_of(f for f in facts if (f.school_year, f.term) == (t.school_year, t.term)),
            )
            for t in ordered
        ),
    )
