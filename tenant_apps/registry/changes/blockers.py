"""What stops a student's business before it is submitted (domain.md §3.5, §3.8).

Every business on one student — a status change, a transfer, intake, promotion — asks
`student_blockers(student, kind)` first and shows the result: what blocks and what to
do. The services ask again inside their transaction, so a page left open does not
bypass a rule. Read-only; runs in the student's school schema.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from tenant_apps.registry.models import ProblemRecord, StatusChange, Student

S = Student.Status

# Statuses that are not 在校 but may still come back (非在校生状态, §4.2); the others
# (退学, 毕业, 结业, 转出, 死亡) end the record in this school.
AWAY = frozenset({S.SUSPENDED, S.DROPPED_OUT, S.ABROAD, S.MISSING, S.OTHER})
LIVE = AWAY | {S.STUDYING}

# The status a student must have for each kind of business. Kinds are the public
# case kinds (transfers.CaseKind) plus the yearly rollover's PROMOTE and GRADUATE.
REQUIRED_STATUS: dict[str, frozenset[str]] = {
    "SUSPEND": frozenset({S.STUDYING}),
    "RESUME": frozenset({S.SUSPENDED, S.DROPPED_OUT, S.MISSING, S.OTHER}),
    "WITHDRAW": frozenset({S.STUDYING, S.SUSPENDED}),
    "DROPOUT": frozenset({S.STUDYING}),
    "DEATH": LIVE,
    "ABROAD": frozenset({S.STUDYING}),
    "RETURN_FROM_ABROAD": frozenset({S.ABROAD}),
    "MISSING": frozenset({S.STUDYING}),
    "OTHER_LEAVE": frozenset({S.STUDYING}),
    "OTHER": LIVE,
    # Class and grade changes keep the pupil 在读 (§3.7).
    "CLASS_CHANGE": frozenset({S.STUDYING}),
    "SKIP_GRADE": frozenset({S.STUDYING}),
    "REPEAT_GRADE": frozenset({S.STUDYING}),
    # 恢复入学资格: 退学 is the one end state a record comes back from in the same school
    # (a senior-high pupil readmitted); 流失, 其他离校, 失踪 come back by 复学, and 毕业, 结业,
    # 转出, 死亡 never do.
    "RESTORE": frozenset({S.WITHDRAWN}),
    # Only 在校 students transfer, and never while on leave (§3.5).
    "TRANSFER": frozenset({S.STUDYING}),
    "TRANSFER_OUT_EXTERNAL": frozenset({S.STUDYING}),
    # Junior-middle intake moves a primary graduate (§3.9).
    "INTAKE": frozenset({S.GRADUATED}),
    # Only 在校 students are promoted or graduate (§3.8).
    "PROMOTE": frozenset({S.STUDYING}),
    "GRADUATE": frozenset({S.STUDYING}),
    # 关键数据变更 (registry.keydata): any record still kept by this school.
    "KEY_DATA": LIVE,
}
TRANSFER_KINDS = frozenset({"TRANSFER", "TRANSFER_OUT_EXTERNAL"})
# The rollover itself happens during the freeze; nothing else does.
FREEZE_EXEMPT = frozenset({"PROMOTE", "GRADUATE"})
COMPULSORY_STAGES = frozenset({"primary", "junior"})

KIND_LABELS = {
    **dict(StatusChange.Kind.choices),
    "TRANSFER": "转学",
    "TRANSFER_OUT_EXTERNAL": "转出（外省/外系统）",
    "INTAKE": "初中新生接收",
    "PROMOTE": "升级",
    "GRADUATE": "毕业",
    "KEY_DATA": "关键数据变更",
}


@dataclass(frozen=True)
class Blocker:
    code: str
    message: str  # what blocks
    advice: str  # what to do about it

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "advice": self.advice}


def _labels(statuses: frozenset[str]) -> str:
    return "、".join(S(s).label for s in S.values if s in statuses)


def _md(value: str) -> tuple[int, int]:
    month, day = value.split("-")
    return int(month), int(day)


def freeze_window(kind: str, on: dt.date) -> tuple[dt.date, dt.date] | None:
    """The freeze period of `kind`'s year that contains `on`, for graduating-grade
    students (`kind` not a transfer) or for everybody (a transfer); None outside it."""
    start_setting = (
        settings.BUSINESS_FREEZE_TRANSFERS_FROM
        if kind in TRANSFER_KINDS
        else settings.BUSINESS_FREEZE_GRADUATING_FROM
    )
    start = dt.date(on.year, *_md(start_setting))
    end = dt.date(on.year, *_md(settings.BUSINESS_FREEZE_UNTIL))
    return (start, end) if start <= on <= end else None


def _freeze(student: Student, kind: str, on: dt.date) -> list[Blocker]:
    from tenant_apps.registry.policy.rules import is_graduating

    if kind in FREEZE_EXEMPT:
        return []
    klass = student.school_class
    graduating = is_graduating(klass.stage, klass.entry_year, on)
    blockers = []
    window = freeze_window(kind, on) if kind in TRANSFER_KINDS else None
    if window:
        blockers.append(
            Blocker(
                "freeze_transfer",
                f"{window[0]:%m月%d日}至{window[1]:%m月%d日}为业务冻结期，暂停办理转学。",
                f"请在{window[1] + dt.timedelta(days=1):%m月%d日}以后申请。",
            )
        )
    window = freeze_window("", on)
    if window and graduating and not blockers:
        blockers.append(
            Blocker(
                "freeze_graduating",
                f"毕业年级学生{window[0]:%m月%d日}至{window[1]:%m月%d日}暂停办理学籍业务"
                "（业务冻结期）。",
                "毕业年级学生请先完成毕业（结业）；确需办理的，请在"
                f"{window[1] + dt.timedelta(days=1):%m月%d日}以后申请。",
            )
        )
    return blockers


@dataclass
class BlockerFacts:
    """What the rules read from the database, for many students in three queries
    (`blocker_facts`), so that a list such as rollover's dry run is not one round of
    queries per student."""

    open_cases: dict[Any, Any] = field(default_factory=dict)  # student uuid → open Case
    open_changes: set[int] = field(default_factory=set)  # student ids with an open change
    problems: dict[int, ProblemRecord] = field(default_factory=dict)  # first open one


def blocker_facts(
    students: Iterable[Student], *, scope: QuerySet[Student] | None = None
) -> BlockerFacts:
    """`scope`, a queryset selecting the same students, lets the local look-ups be a
    subquery instead of a list of thousands of ids (rollover's dry run of a whole grade)."""
    from shared_apps.transfers.selectors import cases_open_for

    students = list(students)
    if scope is not None:
        whose: dict[str, Any] = {"student_id__in": scope.values("pk")}
    else:
        whose = {"student_id__in": [s.pk for s in students]}
    problems: dict[int, ProblemRecord] = {}
    for p in ProblemRecord.objects.filter(
        **whose,
        state__in=[ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING],
    ).order_by(*(ProblemRecord._meta.ordering or ["pk"])):
        problems.setdefault(p.student_id, p)
    return BlockerFacts(
        open_cases=cases_open_for(s.identifier for s in students),
        open_changes=set(
            StatusChange.objects.filter(**whose, state=StatusChange.State.OPEN).values_list(
                "student_id", flat=True
            )
        ),
        problems=problems,
    )


def _open_case(student: Student, facts: BlockerFacts) -> Blocker | None:
    case = facts.open_cases.get(student.identifier)
    if case is not None:
        chain = case.chain or []
        owner = chain[case.step]["label"] if 0 <= case.step < len(chain) else ""
        return Blocker(
            "pending_business",
            f"该学生有在办业务：{case.get_kind_display()}（{case.number}）"
            + (f"，当前环节：{owner}" if owner else "")
            + "。",
            "请等待该业务办结，或由申请人撤回后再办理。",
        )
    # Defensive: a local open change whose case is missing still blocks.
    if student.pk in facts.open_changes:
        return Blocker(
            "pending_business",
            "该学生有未办结的学籍异动。",
            "请等待该异动审批结束，或由申请人撤回后再办理。",
        )
    return None


def student_blockers(
    student: Student, kind: str, *, on: dt.date | None = None, facts: BlockerFacts | None = None
) -> list[Blocker]:
    """Every rule that stops `kind` for `student` on `on` (today by default), in the
    order a registrar fixes them; empty when the business may be submitted. `facts`
    from `blocker_facts` when checking many students; read here when not given."""
    if kind not in REQUIRED_STATUS:
        raise ValueError(f"unknown business kind {kind!r}")
    on = on or timezone.localdate()
    label = KIND_LABELS.get(kind, kind)
    blockers: list[Blocker] = []
    if student.audit_state != Student.Audit.REGISTERED:
        blockers.append(
            Blocker(
                "not_registered",
                f"该学生学籍尚未注册（当前：{student.get_audit_state_display()}），"
                f"不能办理{label}。",
                "请先完成学籍注册（学校审核和教育局审核通过）后再办理。",
            )
        )
    allowed = REQUIRED_STATUS[kind]
    if student.status not in allowed:
        if kind in TRANSFER_KINDS and student.status == S.SUSPENDED:
            advice = "休学学生不能转学：请先办理复学，复学生效后再申请转学。"
        elif S.STUDYING in allowed:
            advice = "只有在校（在读）学生可以办理；离校学生请先办理复学。"
        else:
            advice = f"只有学籍状态为“{_labels(allowed)}”的学生可以办理{label}。"
        blockers.append(
            Blocker(
                "wrong_status",
                f"该学生当前学籍状态为“{student.get_status_display()}”，不能办理{label}。",
                advice,
            )
        )
    if kind == "WITHDRAW" and student.school_class.stage in COMPULSORY_STAGES:
        blockers.append(
            Blocker(
                "compulsory_education",
                "义务教育阶段学生不能办理退学：学校不得责令学生转学、停学或退学。",
                "因病等原因暂时不能就学的，请办理休学；已离校且未办手续的，请办理"
                "“流失（辍学）”并做好劝返。",
            )
        )
    facts = facts if facts is not None else blocker_facts([student])
    first = facts.problems.get(student.pk)
    if first is not None or student.audit_state == Student.Audit.PROBLEM:
        what = f"（{first.get_kind_display()}）" if first is not None else ""
        blockers.append(
            Blocker(
                "problem_record",
                f"该学生有未处理的问题学籍{what}。",
                "请先到“问题学籍”处理（修改、上传佐证或删除），问题解决后再办理。",
            )
        )
    pending = _open_case(student, facts)
    if pending is not None:
        blockers.append(pending)
    blockers.extend(_freeze(student, kind, on))
    move = _no_target(student, kind)
    if move is not None:
        blockers.append(move)
    if kind == "RESTORE" and student.status == S.WITHDRAWN:
        elsewhere = _live_elsewhere(student)
        if elsewhere is not None:
            blockers.append(elsewhere)
    return blockers


def _live_elsewhere(student: Student) -> Blocker | None:
    """恢复入学资格 of a person who holds a live record since (the same ID number in the
    public index, in this or another school, not left for good): a pupil has one record."""
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.student_index.services import duplicates_find
    from tenant_apps.registry.students.services import index_record
    from tenants.models import School

    hits = [
        h
        for h in duplicates_find([index_record(student).keys], exclude=[student.identifier])
        if h.kind == "duplicate"
    ]
    live = set(
        IndexEntry.objects.filter(
            student_uuid__in=[h.student_uuid for h in hits], status__in=sorted(LIVE)
        )
        .exclude(audit_state=Student.Audit.DELETED)
        .values_list("student_uuid", flat=True)
    )
    found = [h for h in hits if h.student_uuid in live]
    if not found:
        return None
    where = School.objects.filter(pk=found[0].school_id).values_list("name", flat=True).first()
    return Blocker(
        "registered_elsewhere",
        f"该学生已在{where or '其他学校'}有在籍学籍，不能恢复入学资格。",
        "一人只能有一个学籍：如需回到本校就读，请由本校办理转学（转入）。",
    )


MOVE_OF_KIND = {"CLASS_CHANGE": "grade", "SKIP_GRADE": "up", "REPEAT_GRADE": "down"}


def _no_target(student: Student, kind: str) -> Blocker | None:
    """调班/跳级/留级 with nowhere to go: no other class in the grade, no grade above
    (the top grade) or below (the first grade) in the current school year."""
    from tenant_apps.registry.changes.moves import target_classes

    moves = MOVE_OF_KIND.get(kind)
    if moves is None or target_classes(student, moves).exists():
        return None
    label = KIND_LABELS[kind]
    grade = student.school_class.grade_name
    if moves == "grade":
        return Blocker(
            "no_target_class",
            f"{grade}没有其他班级，不能办理{label}。",
            "请先在“班级管理”中为该年级建立班级。",
        )
    where = "高一个年级" if moves == "up" else "低一个年级"
    return Blocker(
        "no_target_grade",
        f"本学年没有比{grade}{where}的年级（或该年级没有班级），不能办理{label}。",
        "毕业年级不能跳级、起始年级不能留级；如该年级尚无班级，请先在“班级管理”中建立。",
    )
