"""Yearly rollover of one school: promotion (升级) and graduation (毕业), domain.md §3.8.

Class names keep the entry year (小学2020级(01)班), so a grade is derived from the entry
year and the school year (registry.policy.rules.school_year): promotion changes no class and
no name. What the rollover writes is the end of the school year `Y` (Y–Y+1):

* every 在读 student of each stage's top grade (entry year ≤ Y − offset) becomes 毕业
  (status 07) — the public index follows, so graduates stay findable for intake;
* every 在读 student of the other classes gets a 升级 history entry (三年级 → 四年级);
* students who are not 在校 (休学, 出国 …) do not take part (§3.8) and are listed.

First a dry run (`rollover_plan`) lists every blocker per graduating student with what
to do (registry.changes.blockers: pending business, problem records, not registered; plus
required template fields still empty). The run refuses while any remains. It is a
Celery task with Job progress; everything it writes goes in ONE transaction, and its
RolloverItems keep the values before so `rollover_undo` restores exactly, until
`rollover_confirm` makes it final.

The module stays whole (issue 14): it is one workflow, plan → start → run → undo or
confirm, whose steps share the window, the Plan with its fingerprints and the messages, so
that the run writes exactly what the dry run showed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_name
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.registry.models.lifecycle import CompletionMark, Rollover, RolloverItem
from tenant_apps.registry.policy import rules as policy
from tenant_apps.registry.policy.rules import GRADUATING_OFFSET

S = Student.Status
Progress = Callable[[int, str], None]

MSG_TOO_EARLY = "{label}尚未结束：升级与毕业自{date}起才能办理。"
MSG_PAST = "{label}已于{date}结束，其升级与毕业的办理期已过，不能再执行。"
MSG_DONE = "{label}已办理过升级与毕业（{state}）。"
MSG_BLOCKED = "还有 {n} 名毕业年级学生存在未处理的问题，请先按清单处理后再执行。"
MSG_NOT_UNDOABLE = "当前状态为“{state}”，不能撤销。"
MSG_NOT_CONFIRMABLE = "当前状态为“{state}”，不能确认。"
MSG_UNDO_CHANGED = (
    "以下毕业生在毕业后已有变动（{names}），不能整体撤销；请先处理这些学生的在办业务。"
)
MSG_NOT_FOUND = "未找到该次升级毕业。"
MSG_COMPLETION_REASON = "请填写结业原因。"
MSG_COMPLETION_NONE = "毕业年级的在读学生中未找到“{q}”。"
MSG_COMPLETION_MANY = "毕业年级有 {n} 名学生姓名为“{q}”，请改用全国学籍号。"
MSG_COMPLETION_LOCKED = "{label}已办理过升级与毕业（{state}），不能再修改结业名单。"
MSG_JOB_CONFIRMED = (
    "{label}升级与毕业已确认：毕业 {graduated} 人，升级 {promoted} 人（{who}确认）。"
)
MSG_JOB_UNDONE = "{label}升级与毕业已撤销：{n} 名毕业生已恢复原状态（{who}撤销）。"
REQUIRED_CACHE_SECONDS = 7 * 24 * 3600  # entries are checked against fingerprints anyway
ITEM_BATCH = 5000  # rollover items per INSERT (and per progress report)

GRADE_NAMES = {
    "primary": ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"],
    "junior": ["七年级", "八年级", "九年级"],
    "senior": ["高一", "高二", "高三"],
}


def grade_name(stage: str, entry_year: int, school_year: int) -> str:
    """三年级 etc. for a class in a school year; "" outside the stage's years."""
    index = school_year - entry_year
    names = GRADE_NAMES.get(stage, [])
    return names[index] if 0 <= index < len(names) else ""


def _today() -> dt.date:
    """The school's date (Asia/Shanghai); one place, so that the tests can set the clock."""
    return timezone.localdate()


def default_school_year(today: dt.date | None = None) -> int:
    """The coming transition: the end of the current school year (which starts on
    1 September), so from 1 September on the page shows the year just begun."""
    return policy.school_year(today or _today())


def earliest_run(school_year: int) -> dt.date:
    """From 1 July of the school year's last summer (the freeze before graduation, §3.8)."""
    return dt.date(school_year + 1, 7, 1)


def last_run(school_year: int) -> dt.date:
    """The school year's last day (31 August): after it the next year has begun and this
    transition is past."""
    return dt.date(school_year + 1, 8, 31)


@dataclass(frozen=True)
class Window:
    """A school year's dates as the page states them, and whether it may run today."""

    school_year: int
    starts: dt.date  # 1 September
    ends: dt.date  # 31 August
    opens: dt.date  # the first day the rollover may run
    closes: dt.date  # the last day it may run
    today: dt.date

    @property
    def state(self) -> str:
        """ "early" (not yet), "open" (may run today) or "past" (the next year has begun)."""
        if self.today < self.opens:
            return "early"
        return "open" if self.today <= self.closes else "past"


def window(school_year: int, today: dt.date | None = None) -> Window:
    return Window(
        school_year=school_year,
        starts=dt.date(school_year, 9, 1),
        ends=last_run(school_year),
        opens=earliest_run(school_year),
        closes=last_run(school_year),
        today=today or _today(),
    )


def _graduating(klass: SchoolClass, school_year: int) -> bool:
    return klass.entry_year <= school_year - GRADUATING_OFFSET.get(klass.stage, 2)


def _taking_part(klass: SchoolClass, school_year: int) -> bool:
    """Classes that were in the school during Y (not the intake registered for Y+1)."""
    return klass.entry_year <= school_year


# -- the dry run -----------------------------------------------------------------------


@dataclass(frozen=True)
class BlockerRow:
    student_id: int
    identifier: str
    name: str  # masked: the page is seen by every registry user of the school
    class_name: str
    code: str
    message: str
    advice: str


@dataclass(frozen=True)
class ClassLine:
    class_name: str
    grade_from: str
    grade_to: str  # "毕业" for a graduating class
    students: int  # 在读 students taking part
    graduating: bool


@dataclass(frozen=True)
class CompletionRow:
    """A graduating pupil marked to leave as 结业 instead of 毕业."""

    student_id: int
    identifier: str
    name: str  # masked, as in BlockerRow
    class_name: str
    reason: str


@dataclass(frozen=True)
class Plan:
    school_year: int
    graduate_ids: tuple[int, ...]
    promote: tuple[tuple[int, str, str], ...]  # (student id, from grade, to grade)
    graduate_grades: dict[int, str]  # student id -> grade name before graduating
    blockers: tuple[BlockerRow, ...]
    skipped: tuple[BlockerRow, ...]  # not 在校: stay, do not graduate (§3.8)
    classes: tuple[ClassLine, ...]
    existing: Rollover | None = field(default=None, compare=False)
    promoting: int = 0  # 在读 students of the other grades (`promote` may be left empty)
    # Of graduate_ids, those marked 结业 (student id -> reason): the run sets them to
    # 结业 (08) instead of 毕业 (07). `completion_rows` lists every mark of the year.
    completions: dict[int, str] = field(default_factory=dict, compare=False)
    completion_rows: tuple[CompletionRow, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.school_year}–{self.school_year + 1}学年"

    @property
    def can_run(self) -> bool:
        return (
            not self.blockers
            and self.existing is None
            and bool(self.graduate_ids or self.promoting)
        )


# What decides "required" for a record: the validator, the template's columns and the
# code tables. A cached check is valid only for the rules it was made under.
# Paths are relative to the registry app's folder.
_RULE_FILES = (
    "validation/rows.py",
    "validation/cells.py",
    "validation/identifiers.py",
    "validation/messages.py",
    "fields.py",
    "data/codes.json",
)


@functools.cache
def _rules_version() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent.parent
    for name in _RULE_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


_FINGERPRINT_SQL = """
    SELECT s.id, md5(s::text || c::text || coalesce(f.rows, '')) AS fp
      FROM {student} AS s
      JOIN {klass} AS c ON c.id = s.school_class_id
      LEFT JOIN LATERAL (
          SELECT string_agg(m::text, '|' ORDER BY m.id) AS rows
            FROM {family} AS m WHERE m.student_id = s.id
      ) AS f ON true
     WHERE s.school_class_id = ANY(%s) AND s.status = %s AND s.audit_state <> %s
"""


def _fingerprint_sql() -> str:
    from tenant_apps.registry.models import FamilyMember

    return _FINGERPRINT_SQL.format(
        student=Student._meta.db_table,
        klass=SchoolClass._meta.db_table,
        family=FamilyMember._meta.db_table,
    )


def _missing_required(class_ids: list[int], on: dt.date) -> dict[int, list[str]]:
    """Required template fields still empty, per 在读 student of `class_ids` (the
    validator's "required" errors).

    Validating a record costs ~0.3 ms (8,000 graduates in a school of 50,000), so the
    answers are cached with fingerprints of what they were computed from: an md5 of the
    student's row, class row and family rows as PostgreSQL prints them, so any edit
    (updated_at included), a class renamed or a family member changed gives another
    value. One statement compares the whole grade's fingerprint; when it differs, the
    per-student fingerprints say which records to validate again."""
    from tenant_apps.registry.students.forms import student_raw
    from tenant_apps.registry.students.services import class_map, student_snapshot
    from tenant_apps.registry.validation.rows import RowValidator

    if not class_ids:
        return {}
    params = [class_ids, S.STUDYING, Student.Audit.DELETED]
    key = f"rollover.required.{_rules_version()}.{on:%Y%m%d}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT md5(coalesce(string_agg(id || ':' || fp, ',' ORDER BY id), ''))"  # noqa: S608
            f" FROM ({_fingerprint_sql()}) AS g",
            params,  # type: ignore[arg-type]
        )
        whole = cursor.fetchone()[0]
        known = cache.get(key) or {}
        if known.get("whole") == whole:
            return known["missing"]  # type: ignore[no-any-return]
        cursor.execute(_fingerprint_sql(), params)  # type: ignore[arg-type]
        prints = dict(cursor.fetchall())
    checked: dict[int, tuple[str, list[str]]] = known.get("checked", {})
    fresh = {pk: checked[pk] for pk, fp in prints.items() if checked.get(pk, ("",))[0] == fp}
    stale = [pk for pk in prints if pk not in fresh]
    if stale:
        validator = RowValidator(today=on, class_nos=set(class_map()))
        students = (
            Student.objects.filter(pk__in=stale)
            .select_related("school_class")
            .prefetch_related("family")
        )
        for s in students:
            result = validator.validate(student_raw(s, student_snapshot(s)))
            headers = [e.header for e in result.errors if e.kind == "required"]
            fresh[s.pk] = (prints[s.pk], headers)
    missing = {pk: headers for pk, (_fp, headers) in fresh.items() if headers}
    cache.set(key, {"whole": whole, "checked": fresh, "missing": missing}, REQUIRED_CACHE_SECONDS)
    return missing


def rollover_plan(
    *, school_year: int | None = None, today: dt.date | None = None, promote_ids: bool = True
) -> Plan:
    """Who graduates, who is promoted, and everything that blocks (nothing written).

    The page passes `promote_ids=False`: it shows how many are promoted per class, which
    one GROUP BY answers, and leaves `promote` empty; the run lists every one."""
    from tenant_apps.registry.changes.blockers import blocker_facts, student_blockers

    year = school_year if school_year is not None else default_school_year(today)
    existing = (
        Rollover.objects.filter(school_year=year)
        .exclude(state__in=[Rollover.State.UNDONE, Rollover.State.FAILED])
        .first()
    )
    classes = [c for c in SchoolClass.objects.all() if _taking_part(c, year)]
    by_class = {c.pk: c for c in classes}
    # Only the graduating grade's records are read in full below (blockers, required
    # fields); the five grades being promoted are counted per class, and listed as plain
    # (id, class) rows only for the run.
    taking_part = Student.objects.filter(
        school_class_id__in=list(by_class), status=S.STUDYING
    ).exclude(audit_state=Student.Audit.DELETED)
    counts: dict[int, int] = dict(
        taking_part.order_by()
        .values("school_class_id")
        .annotate(n=Count("pk"))
        .values_list("school_class_id", "n")
    )
    top = [c.pk for c in classes if _graduating(c, year)]
    # Only what the blockers and the lists read (the full records: _missing_required),
    # selected by class: no list of thousands of ids to send.
    in_top = Student.objects.filter(school_class_id__in=top).exclude(
        audit_state=Student.Audit.DELETED
    )
    graduating = list(
        in_top.exclude(status__in=[S.GRADUATED, S.COMPLETED, S.TRANSFERRED_OUT, S.DECEASED])
        .only("pk", "identifier", "name", "status", "audit_state", "school_class")
        .order_by("school_class__class_no", "number_in_class", "pk")
    )
    for s in graduating:
        s.school_class = by_class[s.school_class_id]  # loaded above, not once per row
    graduate_ids: list[int] = []
    grades: dict[int, str] = {}
    blockers: list[BlockerRow] = []
    skipped: list[BlockerRow] = []
    on = earliest_run(year) - dt.timedelta(days=1)  # the last day of the school year

    def row(s: Student, code: str, message: str, advice: str) -> BlockerRow:
        return BlockerRow(
            s.pk, str(s.identifier), mask_name(s.name), s.school_class.name, code, message, advice
        )

    live = [s for s in graduating if s.status == S.STUDYING]
    missing = _missing_required(top, on)
    facts = blocker_facts(live, scope=in_top.filter(status=S.STUDYING))
    for s in graduating:
        if s.status != S.STUDYING:
            skipped.append(
                row(
                    s,
                    "not_in_school",
                    f"学籍状态为“{s.get_status_display()}”，不参加本次毕业。",
                    "只有在校学生可以毕业；已返校的学生请先办理复学，再执行升级与毕业。",
                )
            )
            continue
        found = [
            b
            for b in student_blockers(s, "GRADUATE", on=on, facts=facts)
            if b.code != "wrong_status"
        ]
        for b in found:
            blockers.append(row(s, b.code, b.message, b.advice))
        if s.pk in missing:
            blockers.append(
                row(
                    s,
                    "missing_data",
                    f"必填信息未填：{'、'.join(missing[s.pk][:6])}"
                    + ("等" if len(missing[s.pk]) > 6 else "")
                    + "。",
                    "请在学生信息中补全后再执行毕业。",
                )
            )
        if not found and s.pk not in missing:
            graduate_ids.append(s.pk)
            grades[s.pk] = grade_name(s.school_class.stage, s.school_class.entry_year, year)
    marks = dict(
        CompletionMark.objects.filter(school_year=year).values_list("student_id", "reason")
    )
    completions = {pk: marks[pk] for pk in graduate_ids if pk in marks}
    completion_rows = tuple(
        CompletionRow(s.pk, str(s.identifier), mask_name(s.name), s.school_class.name, marks[s.pk])
        for s in graduating
        if s.pk in marks
    )
    steps = {
        c.pk: (
            grade_name(c.stage, c.entry_year, year),
            grade_name(c.stage, c.entry_year, year + 1),
        )
        for c in classes
    }
    others = [c.pk for c in classes if not _graduating(c, year)]
    promote: tuple[tuple[int, str, str], ...] = ()
    if promote_ids:
        promote = tuple(
            (pk, *steps[class_id])
            for pk, class_id in taking_part.filter(school_class_id__in=others)
            .order_by("school_class__class_no", "number_in_class", "pk")
            .values_list("pk", "school_class_id")
        )
    lines = tuple(
        ClassLine(
            c.name,
            grade_name(c.stage, c.entry_year, year),
            "毕业" if _graduating(c, year) else grade_name(c.stage, c.entry_year, year + 1),
            counts.get(c.pk, 0),
            _graduating(c, year),
        )
        for c in sorted(classes, key=lambda c: c.class_no)
        if counts.get(c.pk)
    )
    return Plan(
        school_year=year,
        graduate_ids=tuple(graduate_ids),
        promote=promote,
        graduate_grades=grades,
        blockers=tuple(blockers),
        skipped=tuple(skipped),
        classes=lines,
        existing=existing,
        promoting=sum(counts.get(pk, 0) for pk in others),
        completions=completions,
        completion_rows=completion_rows,
    )


def _graduating_in_school(year: int) -> list[Student]:
    """The 在读 pupils of the graduating classes of `year` (who may be marked 结业)."""
    top = [c.pk for c in SchoolClass.objects.all() if _graduating(c, year)]
    return list(
        Student.objects.filter(school_class_id__in=top, status=S.STUDYING).exclude(
            audit_state=Student.Audit.DELETED
        )
    )


def _completion_editable(year: int) -> None:
    existing = (
        Rollover.objects.select_for_update()
        .filter(school_year=year)
        .exclude(state__in=[Rollover.State.UNDONE, Rollover.State.FAILED])
        .first()
    )
    if existing is not None:
        raise ApplicationError(
            MSG_COMPLETION_LOCKED.format(label=existing.label, state=existing.get_state_display()),
            code="state",
        )


@transaction.atomic
def rollover_completion_mark(
    *, school_year: int, query: str, reason: str, actor: Actor
) -> CompletionMark:
    """Mark a graduating pupil (by 全国学籍号, 学籍辅号 or exact name) to leave as 结业
    in this year's run, with the reason. Refused once the year's run exists."""
    query, reason = query.strip(), reason.strip()
    if not reason:
        raise ApplicationError(MSG_COMPLETION_REASON, code="invalid")
    _completion_editable(school_year)
    pupils = _graduating_in_school(school_year)
    found = [s for s in pupils if query and query.upper() in {s.national_number, s.aux_number}]
    if not found:
        found = [s for s in pupils if query and s.name == query]
    if not found:
        raise ApplicationError(MSG_COMPLETION_NONE.format(q=query), code="not_found")
    if len(found) > 1:
        raise ApplicationError(MSG_COMPLETION_MANY.format(n=len(found), q=query), code="invalid")
    mark, _ = CompletionMark.objects.update_or_create(
        school_year=school_year,
        student=found[0],
        defaults={"reason": reason[:200], "marked_by": actor.label},
    )
    return mark


@transaction.atomic
def rollover_completion_unmark(*, school_year: int, student_id: int, actor: Actor) -> int:
    """The pupil graduates (毕业) after all. Returns how many marks were removed."""
    _completion_editable(school_year)
    deleted, _ = CompletionMark.objects.filter(
        school_year=school_year, student_id=student_id
    ).delete()
    return deleted


# -- run, undo, confirm -------------------------------------------------------------------


@transaction.atomic
def rollover_page_warm(today: dt.date | None = None) -> int:
    """Fill the graduates' required-field cache for the coming transition, so that the
    first view of the 升级与毕业 page after a start or a rule change is as fast as the
    others (the nightly beat job registry.rollover_page_warm; bench/rollover_page.py
    --warm). Returns how many graduating pupils the page lists."""
    plan = rollover_plan(today=today, promote_ids=False)
    return len(plan.graduate_ids)


def rollover_start(*, school_year: int, actor: Actor, today: dt.date | None = None) -> Rollover:
    """Record the run (one per school year, by constraint) before the task does it."""
    dates = window(school_year, today)
    label = f"{school_year}–{school_year + 1}学年"
    if dates.state == "early":
        raise ApplicationError(
            MSG_TOO_EARLY.format(label=label, date=f"{dates.opens:%Y年%m月%d日}"), code="state"
        )
    if dates.state == "past":
        raise ApplicationError(
            MSG_PAST.format(label=label, date=f"{dates.closes:%Y年%m月%d日}"), code="state"
        )
    existing = (
        Rollover.objects.select_for_update()
        .filter(school_year=school_year)
        .exclude(state__in=[Rollover.State.UNDONE, Rollover.State.FAILED])
        .first()
    )
    if existing is not None:
        raise ApplicationError(
            MSG_DONE.format(label=label, state=existing.get_state_display()), code="state"
        )
    plan = rollover_plan(school_year=school_year, promote_ids=False)
    if plan.blockers:
        students = len({b.student_id for b in plan.blockers})
        raise ApplicationError(MSG_BLOCKED.format(n=students), code="blocked")
    return Rollover.objects.create(school_year=school_year, created_by=actor.label)


def rollover_run(*, rollover_id: int, actor: Actor, progress: Progress | None = None) -> Rollover:
    """The task body: re-plan (a page left open changes nothing), then write everything
    in one transaction. A failure marks the rollover failed and writes nothing else."""
    report = progress or (lambda _p, _m: None)
    report(5, "正在检查毕业年级学生……")
    rollover = Rollover.objects.get(pk=rollover_id)
    if rollover.state != Rollover.State.RUNNING:
        return rollover
    try:
        plan = rollover_plan(school_year=rollover.school_year)
        if plan.blockers:
            n = len({b.student_id for b in plan.blockers})
            raise ApplicationError(MSG_BLOCKED.format(n=n), code="blocked")
        report(20, f"正在写入：毕业 {len(plan.graduate_ids)} 人，升级 {len(plan.promote)} 人……")
        _write(rollover, plan, actor, report)
    except Exception as exc:
        # Nothing was written (one transaction); the year may be run again.
        message = exc.message if isinstance(exc, ApplicationError) else "执行失败，未作任何修改。"
        Rollover.objects.filter(pk=rollover_id).update(
            state=Rollover.State.FAILED, message=message[:300], finished_at=timezone.now()
        )
        raise
    done = Rollover.objects.get(pk=rollover_id)
    c = done.counts
    completed = f"，结业 {c['completed']} 人" if c.get("completed") else ""
    report(
        100,
        f"已完成：毕业 {c.get('graduated', 0)} 人{completed}，升级 {c.get('promoted', 0)} 人。",
    )
    return done


MSG_RUN_INTERRUPTED = "升级与毕业执行被中断（后台处理进程意外退出），未作任何修改，可以重新执行。"


def rollover_abandon(job_id: str, message: str = MSG_RUN_INTERRUPTED) -> int:
    """The run of this job will not finish (its worker died): a rollover still 执行中
    becomes 执行失败, so the year can be run again. Its write is one transaction, so a
    dead run wrote nothing. Registered as the `rollover` job kind's reset
    (jobs.services.job_abandon)."""
    return Rollover.objects.filter(job_id=job_id, state=Rollover.State.RUNNING).update(
        state=Rollover.State.FAILED, message=message[:300], finished_at=timezone.now()
    )


@transaction.atomic
def _write(rollover: Rollover, plan: Plan, actor: Actor, report: Progress) -> None:
    """Everything in one transaction; `report` is called between the batches (20 → 95 %),
    through a connection of its own when the task's (jobs.progress.JobReporter)."""
    from shared_apps.student_index.services import index_set_state
    from tenant_apps.registry.students.services import event_add

    rollover = Rollover.objects.select_for_update().get(pk=rollover.pk)
    if rollover.state != Rollover.State.RUNNING:
        return
    # Only the students still 在读 now: a change since the plan leaves them out.
    graduates = list(
        Student.objects.select_for_update()
        .filter(pk__in=list(plan.graduate_ids), status=S.STUDYING)
        .values_list("pk", "identifier", "updated_at")
    )
    # Pupils marked 结业 in the dry run leave with status 08 instead of 毕业 (07).
    completing = [g for g in graduates if g[0] in plan.completions]
    graduates = [g for g in graduates if g[0] not in plan.completions]
    ids = [pk for pk, _, _ in graduates]
    now = timezone.now()
    Student.objects.filter(pk__in=ids).update(status=S.GRADUATED, updated_at=now)
    Student.objects.filter(pk__in=[g[0] for g in completing]).update(
        status=S.COMPLETED, updated_at=now
    )
    items = [
        RolloverItem(
            rollover=rollover,
            student_id=pk,
            action=RolloverItem.Action.GRADUATE,
            from_status=S.STUDYING,
            to_status=S.GRADUATED,
            from_grade=plan.graduate_grades.get(pk, ""),
            to_grade="毕业",
            updated_before=updated,
        )
        for pk, _uuid, updated in graduates
    ]
    items += [
        RolloverItem(
            rollover=rollover,
            student_id=pk,
            action=RolloverItem.Action.COMPLETE,
            from_status=S.STUDYING,
            to_status=S.COMPLETED,
            from_grade=plan.graduate_grades.get(pk, ""),
            to_grade="结业",
            updated_before=updated,
        )
        for pk, _uuid, updated in completing
    ]
    items += [
        RolloverItem(
            rollover=rollover,
            student_id=pk,
            action=RolloverItem.Action.PROMOTE,
            from_status=S.STUDYING,
            to_status=S.STUDYING,
            from_grade=before,
            to_grade=after,
        )
        for pk, before, after in plan.promote
    ]
    # Batches of 5,000: the items are half the rows written, the history the other half.
    total = max(len(items), 1)
    for start in range(0, len(items), ITEM_BATCH):
        RolloverItem.objects.bulk_create(items[start : start + ITEM_BATCH])
        done = min(start + ITEM_BATCH, len(items))
        report(20 + 40 * done // total, f"已记录 {done}/{len(items)} 名学生的升级与毕业")
    event_add(
        ids,
        actor=actor,
        action="毕业",
        from_state=S.STUDYING,
        to_state=S.GRADUATED,
        reason=f"{rollover.label}毕业",
    )
    by_reason: dict[str, list[int]] = {}
    for pk, _uuid, _at in completing:
        by_reason.setdefault(plan.completions[pk], []).append(pk)
    for reason, pks in by_reason.items():
        event_add(
            pks,
            actor=actor,
            action="结业",
            from_state=S.STUDYING,
            to_state=S.COMPLETED,
            reason=f"{rollover.label}结业：{reason}"[:300],
        )
    by_step: dict[tuple[str, str], list[int]] = {}
    for pk, before, after in plan.promote:
        by_step.setdefault((before, after), []).append(pk)
    report(70, f"已写入 {len(ids)} 名毕业生的学籍记录，正在写入升级记录……")
    for n, ((before, after), pks) in enumerate(by_step.items(), 1):
        event_add(
            pks,
            actor=actor,
            action="升级",
            reason=f"{rollover.label}升级",
            changes={"grade": [before, after]},
        )
        report(70 + 20 * n // len(by_step), f"已写入升级记录：{before} → {after}（{len(pks)} 人）")
    report(92, "正在更新学生索引……")
    # Graduates stay in the index with their new status: intake finds them there.
    index_set_state(student_uuids=[u for _, u, _ in graduates], status=S.GRADUATED)
    if completing:
        index_set_state(student_uuids=[u for _, u, _ in completing], status=S.COMPLETED)
    rollover.state = Rollover.State.APPLIED
    rollover.counts = {
        "graduated": len(ids),
        "promoted": len(plan.promote),
        "skipped": len(plan.skipped),
    }
    if completing:  # 毕业 and 结业 are counted apart
        rollover.counts["completed"] = len(completing)
    rollover.finished_at = timezone.now()
    rollover.save(update_fields=["state", "counts", "finished_at"])


@transaction.atomic
def rollover_undo(*, rollover_id: int, actor: Actor) -> Rollover:
    """Put every graduate back exactly as before (status and index); the promotions
    get a 撤销升级 entry. Refused once confirmed, or when a graduate has moved on."""
    from shared_apps.student_index.services import index_set_state
    from shared_apps.transfers.selectors import cases_open_for
    from tenant_apps.registry.students.services import event_add

    rollover = Rollover.objects.select_for_update().filter(pk=rollover_id).first()
    if rollover is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if rollover.state != Rollover.State.APPLIED:
        raise ApplicationError(
            MSG_NOT_UNDOABLE.format(state=rollover.get_state_display()), code="state"
        )
    # Graduates and 结业 pupils alike: each item keeps its status before and after.
    leaving = [RolloverItem.Action.GRADUATE, RolloverItem.Action.COMPLETE]
    graduated = list(
        rollover.items.filter(action__in=leaving).values_list(
            "student_id", "from_status", "to_status", "updated_before"
        )
    )
    rows = {
        pk: (ident, status, name)
        for pk, ident, status, name in Student.objects.select_for_update()
        .filter(pk__in=[g[0] for g in graduated])
        .values_list("pk", "identifier", "status", "name")
    }
    pending = cases_open_for(rows[pk][0] for pk in rows)
    moved = [
        mask_name(rows[pk][2]) if pk in rows else str(pk)
        for pk, _before, after, _at in graduated
        if pk not in rows or rows[pk][1] != after or rows[pk][0] in pending
    ]
    if moved:
        raise ApplicationError(MSG_UNDO_CHANGED.format(names="、".join(moved[:10])), code="state")
    # Status and last-change time exactly as they were, in one statement.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {Student._meta.db_table} AS s
                   SET status = v.status, updated_at = COALESCE(v.at, s.updated_at)
                  FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[]) AS v(id, status, at)
                 WHERE s.id = v.id""",  # noqa: S608 - the table name is the model's own
            [[g[0] for g in graduated], [g[1] for g in graduated], [g[3] for g in graduated]],
        )
    by_status: dict[tuple[str, str], list[int]] = {}
    for pk, before, after, _at in graduated:
        by_status.setdefault((before, after), []).append(pk)
    for (before, after), pks in by_status.items():
        event_add(
            pks,
            actor=actor,
            action="撤销结业" if after == S.COMPLETED else "撤销毕业",
            from_state=after,
            to_state=before,
            reason=f"撤销{rollover.label}升级与毕业",
        )
        index_set_state(student_uuids=[rows[pk][0] for pk in pks], status=before)
    promoted = list(
        rollover.items.filter(action=RolloverItem.Action.PROMOTE).values_list(
            "student_id", flat=True
        )
    )
    event_add(promoted, actor=actor, action="撤销升级", reason=f"撤销{rollover.label}升级与毕业")
    rollover.state = Rollover.State.UNDONE
    rollover.undone_by, rollover.undone_at = actor.label, timezone.now()
    rollover.save(update_fields=["state", "undone_by", "undone_at"])
    _job_says(
        rollover, MSG_JOB_UNDONE.format(label=rollover.label, n=len(graduated), who=actor.label)
    )
    return rollover


def _job_says(rollover: Rollover, message: str) -> None:
    """The run's job said "请核对后确认"; once confirmed or undone it says what happened."""
    from shared_apps.jobs.services import job_retell

    if rollover.job_id:
        job_retell(job_id=rollover.job_id, message=message)


@transaction.atomic
def rollover_confirm(*, rollover_id: int, actor: Actor) -> Rollover:
    """Final: no undo afterwards."""
    rollover = Rollover.objects.select_for_update().filter(pk=rollover_id).first()
    if rollover is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if rollover.state != Rollover.State.APPLIED:
        raise ApplicationError(
            MSG_NOT_CONFIRMABLE.format(state=rollover.get_state_display()), code="state"
        )
    rollover.state = Rollover.State.CONFIRMED
    rollover.confirmed_by, rollover.confirmed_at = actor.label, timezone.now()
    rollover.save(update_fields=["state", "confirmed_by", "confirmed_at"])
    c = rollover.counts
    _job_says(
        rollover,
        MSG_JOB_CONFIRMED.format(
            label=rollover.label,
            graduated=c.get("graduated", 0),
            promoted=c.get("promoted", 0),
            who=actor.label,
        ),
    )
    return rollover


def rollover_list() -> list[Rollover]:
    return list(Rollover.objects.all()[:20])


def job_title(school_year: int) -> str:
    return f"升级与毕业：{school_year}–{school_year + 1}学年"


def rollover_id_of_job(job_id: uuid.UUID | str) -> int | None:
    return Rollover.objects.filter(job_id=job_id).values_list("pk", flat=True).first()
