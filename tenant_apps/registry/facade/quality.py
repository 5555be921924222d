"""Data-quality figures of one school (domain.md §3.18, issue 16 point 3), for the bureau.

Everything is read inside the school (`school_context`) and returned as frozen values:
the figures the bureau keeps in its public table (bureau.SchoolQuality) and, for one
figure, one page of its list, with names masked. The bureau pages never call this at
request time except for the list of one school an officer opened.

Which records a figure counts:

* 待学校审核 / 待教育局审核: records in that registration state, aged from the moment they
  entered it (their last StudentEvent into that state; the record's creation otherwise).
* 问题学籍: records held as 问题学籍 whose problem is still open or waiting for the
  county's 佐证 decision, aged from the problem's creation.
* 无身份证件号, 必填项缺失: the records on the school's roll (not deleted, status 在读,
  whatever their registration state), because a draft with a hole is as much work as a
  registered one. Missing required fields are the validator's "required" errors
  (registry.validation.rows, the one rule set), so the bureau sees what an import refuses.
* 临时学籍号: registered pupils in school (counts.IN_SCHOOL) still holding an L number.
* 超期业务: open business cases (transfers.Case: status changes, transfers, intake) where
  this school applies or sends, whose deadline (`due_on`, 10 working days per step) has
  passed; aged from the deadline.
* 草稿超过30天: records still in draft 30 days after they were entered.
* 已删除学籍: deleted records, which the county still sees (domain.md §3.4).
* 人籍一致: classes with pupils on the roll and no confirmation for the term; those are
  also counted as overdue once the county's deadline for the term has passed.
* 缺照片: registered pupils in school (counts.IN_SCHOOL, as the school's own 照片采集
  page counts) without a current photo (registry.photos.selectors.missing_count).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from common.masking import mask_name
from tenants.context import school_context

STALE_DRAFT_DAYS = 30
# Age bands of the aged figures, in days: 0–7, 8–30, 31 and more.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0–7天", 0, 7),
    ("8–30天", 8, 30),
    ("31天以上", 31, None),
)
REQUIRED_IDS_KEPT = 5000  # the list of 必填项缺失 keeps this many record ids at most


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str  # 人, 件, 个班
    aged: bool
    weight: int  # how much one item weighs in the schools' ranking (how much needs doing)
    short: str  # the column header of the ranking, where the label does not fit


FIGURES: tuple[Figure, ...] = (
    Figure("school_pending", "待学校审核", "人", True, 1, "待校审"),
    Figure("county_pending", "待教育局审核", "人", True, 1, "待局审"),
    Figure("problem_open", "问题学籍未处理", "人", True, 3, "问题学籍"),
    Figure("no_id", "无身份证件号", "人", False, 1, "无证件号"),
    Figure("temporary_number", "仍为临时学籍号（L）", "人", False, 1, "临时号"),
    Figure("overdue_cases", "超期未办结业务", "件", True, 5, "超期业务"),
    Figure("stale_drafts", f"超过{STALE_DRAFT_DAYS}天未提交的草稿", "人", True, 2, "久存草稿"),
    Figure("missing_required", "必填项缺失", "人", False, 2, "缺必填"),
    Figure("deleted", "已删除学籍", "人", False, 0, "已删除"),
    Figure("roster_missing", "本学期未确认人籍一致的班级", "个班", False, 1, "未核查班"),
    Figure("roster_overdue", "逾期未确认人籍一致的班级", "个班", False, 10, "逾期班"),
    Figure("no_photo", "缺照片", "人", False, 1, "缺照片"),
)
FIGURE_BY_KEY = {f.key: f for f in FIGURES}


@dataclass(frozen=True)
class FigureValue:
    key: str
    count: int
    oldest_at: dt.datetime | None
    bands: tuple[int, ...]  # per AGE_BANDS, only for aged figures (else zeros)
    item_ids: tuple[str, ...] = ()  # record ids kept for lists too costly to recompute


@dataclass(frozen=True)
class QualityItem:
    ref: str  # the record's or case's identifier (no personal data)
    name: str  # masked
    class_name: str
    since: dt.datetime | None
    age_days: int | None
    detail: str


@dataclass(frozen=True)
class QualityPage:
    total: int
    items: tuple[QualityItem, ...]


# -- the hook the bureau fills: "this school's figures are stale" ------------------------
# The registry may not import the bureau (it sits above the school apps); the bureau
# registers here, in its AppConfig.ready(), the task that refreshes one school.
_STALE_HANDLERS: dict[str, Callable[..., None]] = {}


def register_quality_stale(owner: str, handler: Callable[..., None]) -> None:
    """`handler(school_id=)` is called after a write that changes the school's figures
    committed (the 人籍一致 confirmation)."""
    _STALE_HANDLERS[owner] = handler


def quality_stale(*, school_id: int) -> None:
    for handler in list(_STALE_HANDLERS.values()):
        handler(school_id=school_id)


# -- figures ------------------------------------------------------------------------------


def _aware(value: dt.date | dt.datetime) -> dt.datetime:
    from django.utils import timezone

    if isinstance(value, dt.datetime):
        return value
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def _age_days(since: dt.datetime | None, now: dt.datetime) -> int | None:
    from django.utils import timezone

    if since is None:
        return None
    return (timezone.localtime(now).date() - timezone.localtime(since).date()).days


def _bands(ages: Iterable[int | None]) -> tuple[int, ...]:
    counts = [0] * len(AGE_BANDS)
    for age in ages:
        if age is None:
            continue
        for i, (_label, low, high) in enumerate(AGE_BANDS):
            if age >= low and (high is None or age <= high):
                counts[i] += 1
                break
    return tuple(counts)


def _aged(key: str, sinces: Sequence[dt.datetime | None], now: dt.datetime) -> FigureValue:
    known = [s for s in sinces if s is not None]
    return FigureValue(
        key=key,
        count=len(sinces),
        oldest_at=min(known) if known else None,
        bands=_bands(_age_days(s, now) for s in sinces),
    )


def _plain(key: str, count: int, item_ids: tuple[str, ...] = ()) -> FigureValue:
    return FigureValue(key, count, None, (0,) * len(AGE_BANDS), item_ids)


def _on_roll() -> Any:
    from django.db.models import Q

    from tenant_apps.registry.models import Student

    return ~Q(audit_state=Student.Audit.DELETED) & Q(status=Student.Status.STUDYING)


def _pending_since(state: str) -> Any:
    """Records in registration `state`, with `since`: when they entered it."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from tenant_apps.registry.models import Student, StudentEvent

    entered = (
        StudentEvent.objects.filter(student=OuterRef("pk"), to_state=state)
        .order_by("-at")
        .values("at")[:1]
    )
    return Student.objects.filter(audit_state=state).annotate(
        since=Coalesce(Subquery(entered), "created_at")
    )


def _problems_open() -> Any:
    from django.db.models import Min

    from tenant_apps.registry.models import ProblemRecord, Student

    open_states = [ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING]
    return Student.objects.filter(
        audit_state=Student.Audit.PROBLEM, problems__state__in=open_states
    ).annotate(since=Min("problems__created_at"))


def _stale_drafts(now: dt.datetime) -> Any:
    from django.db.models import F

    from tenant_apps.registry.models import Student

    return Student.objects.filter(
        audit_state=Student.Audit.DRAFT,
        created_at__lt=now - dt.timedelta(days=STALE_DRAFT_DAYS),
    ).annotate(since=F("created_at"))


def _overdue_cases(school_id: int, today: dt.date) -> Any:
    from django.db.models import Q

    from shared_apps.transfers.models import Case, CaseState

    return (
        Case.objects.filter(state=CaseState.OPEN, due_on__lt=today)
        .filter(Q(school_id=school_id) | Q(other_school_id=school_id))
        .order_by("due_on", "number")
    )


def _required_headers(validator: Any, s: Any) -> list[str]:
    """The required template fields `s` lacks: the validator's "required" errors on the
    record as the form shows it (registry.validation.rows, the one rule set)."""
    from tenant_apps.registry.students.forms import student_raw
    from tenant_apps.registry.students.services import student_snapshot

    result = validator.validate(student_raw(s, student_snapshot(s)))
    return [e.header for e in result.errors if e.kind == "required"]


def _validator(today: dt.date) -> Any:
    from tenant_apps.registry.students.services import class_map
    from tenant_apps.registry.validation.rows import RowValidator

    return RowValidator(today=today, class_nos=set(class_map()))


def _missing_required(today: dt.date) -> dict[int, list[str]]:
    """{student pk: headers of the required fields it lacks} over the school's roll.

    Validating costs ~0.3 ms a record, so a school of 50,000 takes ~15 s: this runs only
    in the refresh task, never for a page (the list reads the ids the refresh kept)."""
    from tenant_apps.registry.models import Student

    validator = _validator(today)
    missing: dict[int, list[str]] = {}
    students = (
        Student.objects.filter(_on_roll())
        .select_related("school_class")
        .prefetch_related("family")
        .order_by("pk")
    )
    for s in students.iterator(chunk_size=500):
        headers = _required_headers(validator, s)
        if headers:
            missing[s.pk] = headers
    return missing


def _roster_open(term: tuple[str, int]) -> Any:
    """Classes with pupils on the roll and no 人籍一致 confirmation for `term`."""
    from django.db.models import Count, Exists, OuterRef

    from tenant_apps.registry.counts import in_school_q
    from tenant_apps.registry.models import RosterCheck, SchoolClass

    confirmed = RosterCheck.objects.filter(
        school_class=OuterRef("pk"), school_year=term[0], term=term[1]
    )
    return (
        SchoolClass.objects.annotate(pupils=Count("students", filter=in_school_q("students__")))
        .filter(pupils__gt=0)
        .exclude(Exists(confirmed))
        .order_by("class_no")
    )


def _term(today: dt.date) -> tuple[str, int]:
    from tenant_apps.registry.classes.roster import roster_term

    t = roster_term(today)
    return t.school_year, t.term


def school_quality(
    *,
    schema_name: str,
    school_id: int,
    roster_deadline: dt.date | None = None,
    now: dt.datetime | None = None,
) -> tuple[FigureValue, ...]:
    """Every figure of FIGURES for one school, in that order. `roster_deadline` is the
    county's deadline for the current term's 人籍一致 (None: no deadline set)."""
    from django.utils import timezone

    from tenant_apps.registry.counts import IN_SCHOOL
    from tenant_apps.registry.models import Student

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    values: dict[str, FigureValue] = {}
    with school_context(schema_name):
        for state in (Student.Audit.SCHOOL_PENDING, Student.Audit.COUNTY_PENDING):
            sinces = list(_pending_since(state).values_list("since", flat=True))
            values[str(state)] = _aged(str(state), sinces, now)
        values["problem_open"] = _aged(
            "problem_open", list(_problems_open().values_list("since", flat=True)), now
        )
        roll = Student.objects.filter(_on_roll())
        values["no_id"] = _plain("no_id", roll.filter(id_number="").count())
        values["temporary_number"] = _plain(
            "temporary_number",
            Student.objects.filter(IN_SCHOOL, national_number__startswith="L").count(),
        )
        due = [_aware(d) for d in _overdue_cases(school_id, today).values_list("due_on", flat=True)]
        values["overdue_cases"] = _aged("overdue_cases", due, now)
        values["stale_drafts"] = _aged(
            "stale_drafts", list(_stale_drafts(now).values_list("since", flat=True)), now
        )
        missing = _missing_required(today)
        ids = tuple(
            str(u)
            for u in Student.objects.filter(pk__in=sorted(missing)[:REQUIRED_IDS_KEPT])
            .order_by("pk")
            .values_list("identifier", flat=True)
        )
        values["missing_required"] = _plain("missing_required", len(missing), ids)
        values["deleted"] = _plain(
            "deleted", Student.objects.filter(audit_state=Student.Audit.DELETED).count()
        )
        open_classes = _roster_open(_term(today)).count()
        values["roster_missing"] = _plain("roster_missing", open_classes)
        late = roster_deadline is not None and today > roster_deadline
        values["roster_overdue"] = _plain("roster_overdue", open_classes if late else 0)
        values["no_photo"] = _plain("no_photo", _no_photo().count())
    return tuple(values[f.key] for f in FIGURES)


def _no_photo() -> Any:
    from tenant_apps.registry.counts import IN_SCHOOL
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.photos.selectors import has_current_photo

    return Student.objects.filter(IN_SCHOOL).exclude(has_current_photo())


# -- lists --------------------------------------------------------------------------------

MSG_UNKNOWN_FIGURE = "没有这一项数据质量指标。"


def _student_items(qs: Any, now: dt.datetime, detail: Callable[[Any], str]) -> list[QualityItem]:
    return [
        QualityItem(
            ref=str(s.identifier),
            name=mask_name(s.name),
            class_name=s.school_class.name,
            since=getattr(s, "since", None),
            age_days=_age_days(getattr(s, "since", None), now),
            detail=detail(s),
        )
        for s in qs
    ]


def quality_items(
    *,
    schema_name: str,
    school_id: int,
    figure: str,
    offset: int = 0,
    limit: int | None = 50,
    roster_deadline: dt.date | None = None,
    kept_ids: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> QualityPage:
    """One page of a figure's list in one school, oldest first for aged figures: masked
    names, the class, the age of the item and a short detail (never an ID number).
    `kept_ids` are the record ids the last refresh kept for 必填项缺失."""
    from django.utils import timezone

    from common.exceptions import ApplicationError
    from shared_apps.transfers.models import CaseKind
    from shared_apps.transfers.services import owner_label
    from tenant_apps.registry.counts import IN_SCHOOL
    from tenant_apps.registry.models import ProblemRecord, Student

    if figure not in FIGURE_BY_KEY:
        raise ApplicationError(MSG_UNKNOWN_FIGURE, code="not_found")
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    end = None if limit is None else offset + limit
    students = Student.objects.select_related("school_class")
    audit_labels = dict(Student.Audit.choices)
    with school_context(schema_name):
        if figure in ("school_pending", "county_pending"):
            qs = _pending_since(figure).select_related("school_class").order_by("since", "pk")
            total, rows = qs.count(), qs[offset:end]
            items = _student_items(rows, now, lambda s: audit_labels[s.audit_state])
        elif figure == "problem_open":
            qs = _problems_open().select_related("school_class").order_by("since", "pk")
            total, rows = qs.count(), qs[offset:end]
            open_states = {ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING}
            items = _student_items(
                rows,
                now,
                lambda s: "、".join(
                    f"{p.get_kind_display()}（{p.get_state_display()}）"
                    for p in s.problems.all()
                    if p.state in open_states
                ),
            )
        elif figure == "stale_drafts":
            qs = _stale_drafts(now).select_related("school_class").order_by("since", "pk")
            total, rows = qs.count(), qs[offset:end]
            items = _student_items(rows, now, lambda s: "待提交")
        elif figure == "no_photo":
            qs = (
                _no_photo()
                .select_related("school_class")
                .order_by("school_class__class_no", "number_in_class", "pk")
            )
            total, rows = qs.count(), qs[offset:end]
            items = _student_items(rows, now, lambda s: "未采集照片")
        elif figure in ("no_id", "temporary_number", "deleted"):
            if figure == "no_id":
                qs = students.filter(_on_roll(), id_number="")
            elif figure == "temporary_number":
                qs = students.filter(IN_SCHOOL, national_number__startswith="L")
            else:
                qs = students.filter(audit_state=Student.Audit.DELETED)
            qs = qs.order_by("school_class__class_no", "number_in_class", "pk")
            total, rows = qs.count(), qs[offset:end]
            if figure == "deleted":
                items = _student_items(rows, now, lambda s: s.deleted_reason or "已删除")
            elif figure == "temporary_number":
                items = _student_items(rows, now, lambda s: "临时学籍号")
            else:
                items = _student_items(rows, now, lambda s: "未填身份证件号")
        elif figure == "missing_required":
            wanted = [uuid.UUID(i) for i in kept_ids]
            qs = students.filter(identifier__in=wanted).prefetch_related("family").order_by("pk")
            total, rows = qs.count(), list(qs[offset:end])
            missing = _missing_of(rows, today)
            items = _student_items(
                rows, now, lambda s: "、".join(missing.get(s.pk, [])) or "已补全（待刷新）"
            )
        elif figure == "overdue_cases":
            qs = _overdue_cases(school_id, today)
            total, cases = qs.count(), list(qs[offset:end])
            kinds = dict(CaseKind.choices)
            items = []
            for case in cases:
                since = _aware(case.due_on)
                current = case.current or {}
                owner = owner_label(current) if current else ""
                items.append(
                    QualityItem(
                        ref=case.number,
                        name=str(case.summary.get("name", "")),
                        class_name=str(case.summary.get("class", "")),
                        since=since,
                        age_days=_age_days(since, now),
                        detail=f"{case.number} {kinds.get(case.kind, case.kind)}"
                        + (f"，待{owner}办理" if owner else ""),
                    )
                )
        else:  # roster_missing, roster_overdue
            late = roster_deadline is not None and today > roster_deadline
            qs = _roster_open(_term(today))
            if figure == "roster_overdue" and not late:
                qs = qs.none()
            total, classes = qs.count(), list(qs[offset:end])
            items = [
                QualityItem(
                    ref=k.class_no,
                    name="",
                    class_name=k.name,
                    since=None,
                    age_days=None,
                    detail=f"在读{k.pupils}人，本学期未确认"
                    + (f"（截止{roster_deadline:%Y-%m-%d}）" if roster_deadline else ""),
                )
                for k in classes
            ]
    return QualityPage(total=total, items=tuple(items))


def _missing_of(rows: Sequence[Any], today: dt.date) -> dict[int, list[str]]:
    """What each listed record lacks now (a record completed since the refresh: nothing)."""
    validator = _validator(today)
    return {s.pk: _required_headers(validator, s) for s in rows if s.audit_state != "deleted"}
