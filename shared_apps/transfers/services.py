"""The business-case engine: open, decide, withdraw, escalate.

Every entry point is one transaction that locks the case row (SELECT … FOR UPDATE), so a
repeated or concurrent decision on the same case waits for the first and then finds the
case moved on: it changes nothing further. Approving the last step runs the kind's
completion handler inside the same transaction; a handler error rolls the whole decision
back.

Who may act is decided by the chain stored on the case (domain.md §3.5: only the
"current handling unit" acts): a school step belongs to the users of that school with
registry.approve, a bureau step to the officers whose region covers the step's region
with bureau.audit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from common.exceptions import ApplicationError
from common.workdays import add_workdays
from shared_apps.transfers.models import Case, CaseKind, CaseState, CaseStep

STEP_WORKDAYS = 10  # each party acts within 10 working days (domain.md §3.5)
RIGHT_SCHOOL_STEP = "registry.approve"
RIGHT_BUREAU_STEP = "bureau.audit"
RIGHT_APPLY = "registry.edit"

MSG_NOT_FOUND = "未找到该业务。"
MSG_CLOSED = "该业务已{state}，不能再办理。"
MSG_NOT_OWNER = "该业务当前由“{owner}”办理，您无权办理。"
MSG_NO_RIGHT = "您没有办理该步骤的权限（需要“{right}”）。"
MSG_REASON = "退回时请填写原因。"
MSG_WITHDRAW_REASON = "撤回时请填写原因。"
MSG_NOT_APPLICANT = "只有申请学校可以撤回该业务。"
MSG_OPEN_EXISTS = "该学生已有在办业务（{number}），请办结后再申请。"
MSG_EMPTY_CHAIN = "审核流程不能为空。"
MSG_BAD_STEP = "审核流程第{n}步无效：{why}。"


@dataclass(frozen=True)
class CaseActor:
    """Who acts on a case, as plain values that survive schema switches."""

    username: str
    schema_name: str  # "public" for bureau officers
    region_code: str | None  # 12-digit code of a bureau officer's region
    rights: frozenset[str]

    @property
    def label(self) -> str:
        return f"{self.username}@{self.schema_name}"

    @classmethod
    def of(cls, user: Any) -> CaseActor:
        """The signed-in user of the current request (read in the host's schema)."""
        return cls(
            username=str(user.username),
            schema_name=str(connection.schema_name),
            region_code=getattr(user, "region_id", None) or None,
            rights=frozenset(user.rights),
        )


# -- regions and owners ------------------------------------------------------------


def region_prefix(code: str) -> str:
    """Significant digits of a 12-digit region code (province 2, city 4, county 6,
    township 9), like regions.Region.prefix but without a database read."""
    for length in (2, 4, 6, 9):
        if set(code[length:]) <= {"0"}:
            return code[:length]
    return code


def region_covers(officer_region: str | None, step_region: str | None) -> bool:
    if not officer_region or not step_region:
        return False
    return step_region.startswith(region_prefix(officer_region))


def _school_schema(school_id: int) -> str | None:
    from tenants.models import School

    return School.objects.filter(pk=school_id).values_list("schema_name", flat=True).first()


def owner_label(step: dict[str, Any]) -> str:
    """Who must act on a step, for messages and pages."""
    if step.get("owner_name"):
        return str(step["owner_name"])
    if step.get("owner") == "school":
        from tenants.models import School

        name = School.objects.filter(pk=step.get("school_id")).values_list("name", flat=True)
        return str(name.first() or "学校")
    from shared_apps.regions.models import Bureau

    bureau = Bureau.objects.filter(region_id=step.get("region")).values_list("name", flat=True)
    return str(bureau.first() or f"教育局（{step.get('region')}）")


def actor_owns(actor: CaseActor, step: dict[str, Any]) -> tuple[bool, str]:
    """(may act, why not) for the actor on one chain step."""
    if step.get("owner") == "school":
        if actor.schema_name != _school_schema(int(step["school_id"])):
            return False, MSG_NOT_OWNER.format(owner=owner_label(step))
        if RIGHT_SCHOOL_STEP not in actor.rights:
            return False, MSG_NO_RIGHT.format(right="学籍学校审核")
        return True, ""
    if actor.schema_name != "public" or not region_covers(actor.region_code, step.get("region")):
        return False, MSG_NOT_OWNER.format(owner=owner_label(step))
    if RIGHT_BUREAU_STEP not in actor.rights:
        return False, MSG_NO_RIGHT.format(right="学籍教育局审核")
    return True, ""


# -- chains --------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolRef:
    """A school as a chain needs it (plain values)."""

    id: int
    name: str
    county: str  # 12-digit code of the school's county


def school_ref(school_id: int) -> SchoolRef:
    from tenants.models import School

    row = School.objects.filter(pk=school_id).values_list("pk", "name", "county_id").first()
    if row is None:
        raise ApplicationError("未找到该学校。", code="not_found")
    return SchoolRef(id=row[0], name=row[1], county=row[2] or "")


def _bureau_name(region: str) -> str:
    from shared_apps.regions.models import Bureau, Region

    name = Bureau.objects.filter(region_id=region).values_list("name", flat=True).first()
    if name:
        return str(name)
    county = Region.objects.filter(code=region).values_list("name", flat=True).first()
    return f"{county or region}教育局"


def school_step(school: SchoolRef, label: str) -> dict[str, Any]:
    return {
        "owner": "school",
        "school_id": school.id,
        "region": None,
        "label": label,
        "owner_name": school.name,
    }


def bureau_step(region: str, label: str) -> dict[str, Any]:
    return {
        "owner": "bureau",
        "school_id": None,
        "region": region,
        "label": label,
        "owner_name": _bureau_name(region),
    }


def chain_in_school(school_id: int) -> list[dict[str, Any]]:
    """休学/复学/退学/死亡/其他…: school approver → the school's county bureau (§3.7)."""
    school = school_ref(school_id)
    return [
        school_step(school, "学校审核"),
        bureau_step(school.county, "县级教育行政部门审核"),
    ]


def chain_school_only(school_id: int) -> list[dict[str, Any]]:
    """调班: the school's own affair (domain.md §3.7), its approver is the last step."""
    return [school_step(school_ref(school_id), "学校审核")]


def chain_transfer(*, receiving_id: int, sending_id: int) -> list[dict[str, Any]]:
    """Transfer between platform schools (§3.6): same county: sending school → county
    bureau; other county: receiving county bureau → sending school → sending county."""
    receiving = school_ref(receiving_id)
    sending = school_ref(sending_id)
    if receiving.county == sending.county:
        return [
            school_step(sending, "转出学校审核"),
            bureau_step(sending.county, "县级教育行政部门审核"),
        ]
    return [
        bureau_step(receiving.county, "转入地教育行政部门审核"),
        school_step(sending, "转出学校审核"),
        bureau_step(sending.county, "转出地教育行政部门审核"),
    ]


def _check_chain(chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not chain:
        raise ApplicationError(MSG_EMPTY_CHAIN)
    clean = []
    for n, step in enumerate(chain, start=1):
        owner = step.get("owner")
        if owner == "school" and not step.get("school_id"):
            raise ApplicationError(MSG_BAD_STEP.format(n=n, why="缺少学校"))
        if owner == "bureau" and not step.get("region"):
            raise ApplicationError(MSG_BAD_STEP.format(n=n, why="缺少教育局区划"))
        if owner not in ("school", "bureau"):
            raise ApplicationError(MSG_BAD_STEP.format(n=n, why="办理单位只能是学校或教育局"))
        clean.append(
            {
                "owner": owner,
                "school_id": step.get("school_id") if owner == "school" else None,
                "region": step.get("region") if owner == "bureau" else None,
                "label": str(step.get("label") or ""),
                "owner_name": str(step.get("owner_name") or "") or owner_label(step),
            }
        )
    return clean


# -- extension points ---------------------------------------------------------------

Completion = Callable[[Case], None]
Detail = Callable[[Case], list[tuple[str, str]]]
_COMPLETIONS: dict[str, Completion] = {}
_CLOSINGS: dict[str, Completion] = {}
_DETAILS: dict[str, Detail] = {}


def register_completion(kind: str, handler: Completion) -> None:
    """handler(case) runs when the last step is approved, in the same transaction; it
    raises ApplicationError to refuse (everything rolls back)."""
    _COMPLETIONS[str(kind)] = handler


def register_closing(kind: str, handler: Completion) -> None:
    """handler(case) runs when a case of this kind is rejected or withdrawn, in the same
    transaction (e.g. to release something reserved when it was opened)."""
    _CLOSINGS[str(kind)] = handler


def register_detail(kind: str, fn: Detail) -> None:
    """fn(case) -> extra (label, value) lines for the case page."""
    _DETAILS[str(kind)] = fn


# (Added by the status-change work, W2.) fn(case, actor, approve, note) runs when an
# owner decides a step, before anything is recorded, in the same transaction: it raises
# ApplicationError to refuse (e.g. maker ≠ checker) and may write the kind's own history.
Decision = Callable[[Case, "CaseActor", bool, str], None]
_DECISIONS: dict[str, Decision] = {}


def register_decision(kind: str, fn: Decision) -> None:
    _DECISIONS[str(kind)] = fn


def case_detail_lines(case: Case) -> list[tuple[str, str]]:
    fn = _DETAILS.get(case.kind)
    return list(fn(case)) if fn else []


@dataclass(frozen=True)
class HandedOver:
    """A value a completion hands to the user whose decision completed the case, to be
    shown once (an initial password). It is never stored: the page or the answer of
    that decision is the only place it appears."""

    label: str
    username: str
    password: str


_HANDED: ContextVar[list[HandedOver] | None] = ContextVar("case_handed_over", default=None)


def handed_over_give(value: HandedOver) -> None:
    """Called by a completion handler. Outside `handed_over_collect` (a batch, a task)
    the value is dropped, and the account needs its password reset to be used."""
    handed = _HANDED.get()
    if handed is not None:
        handed.append(value)


@contextmanager
def handed_over_collect() -> Iterator[list[HandedOver]]:
    """Around one decision: the values its completion handed over. A decision that
    raises leaves nothing behind (its transaction rolled back)."""
    handed: list[HandedOver] = []
    token = _HANDED.set(handed)
    try:
        yield handed
    finally:
        _HANDED.reset(token)


# -- numbers -------------------------------------------------------------------------


def counter_next(key: str, count: int = 1) -> int:
    """Reserve `count` numbers of a named counter in one statement; return the first.
    The row lock of the upsert serialises concurrent callers."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO public.transfers_counter (key, last) VALUES (%s, %s)
               ON CONFLICT (key) DO UPDATE
                 SET last = public.transfers_counter.last + EXCLUDED.last
               RETURNING last""",
            [key, count],
        )
        last = int(cursor.fetchone()[0])
    return last - count + 1


def case_number_next(today: dt.date | None = None) -> str:
    today = today or timezone.localdate()
    seq = counter_next(f"YD{today:%Y%m%d}")
    return f"YD{today:%Y%m%d}{seq:05d}"


# -- transitions ---------------------------------------------------------------------


def _due(today: dt.date | None = None) -> dt.date:
    return add_workdays(today or timezone.localdate(), STEP_WORKDAYS)


@transaction.atomic
def case_open(
    *,
    kind: str,
    school_id: int,
    student_uuid: uuid.UUID | None,
    summary: dict[str, Any],
    chain: list[dict[str, Any]],
    created_by: str,
    other_school_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Case:
    """Open a case at its first step. A student may have one open case at a time (the
    database refuses a second, also between two concurrent submissions)."""
    if kind not in CaseKind.values:
        raise ApplicationError(f"未知的业务类型：{kind}。")
    clean = _check_chain(chain)
    if student_uuid is not None:
        # Serialise submissions for the same student: the partial unique index would
        # refuse the second one anyway, this turns that into a readable message.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"case:{student_uuid}"])
        existing = Case.objects.filter(student_uuid=student_uuid, state=CaseState.OPEN).first()
        if existing is not None:
            raise ApplicationError(MSG_OPEN_EXISTS.format(number=existing.number), code="busy")
    case = Case.objects.create(
        number=case_number_next(),
        kind=kind,
        school_id=school_id,
        other_school_id=other_school_id,
        student_uuid=student_uuid,
        summary=summary,
        chain=clean,
        step=0,
        state=CaseState.OPEN,
        due_on=_due(),
        payload=payload or {},
        created_by=created_by,
    )
    CaseStep.objects.create(case=case, actor=created_by, action=CaseStep.Action.SUBMIT, step=0)
    return case


def _locked(case_id: uuid.UUID | str) -> Case:
    try:
        key = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(str(case_id))
    except ValueError as exc:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found") from exc
    case = Case.objects.select_for_update().filter(pk=key).first()
    if case is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    return case


def _is_repeat(case: Case, actor: CaseActor, action: str) -> bool:
    """The actor's previous decision was this very one (a double click or a retry)."""
    last = case.steps.filter(actor=actor.label).order_by("-at", "-id").first()
    return last is not None and last.action == action


@transaction.atomic
def case_decide(
    *,
    case_id: uuid.UUID | str,
    actor: CaseActor,
    approve: bool,
    reason: str = "",
    step: int | None = None,
) -> Case:
    """Approve or reject the current step.

    `step` is the step the actor saw on the page; when the case is no longer there (a
    double click, a second tab, a concurrent approval) nothing happens and the case is
    returned as it is. Without `step`, an actor repeating the decision he or she just
    made gets the same no-op; anyone else acting out of turn gets an ApplicationError.
    """
    case = _locked(case_id)
    action = CaseStep.Action.APPROVE if approve else CaseStep.Action.REJECT
    if step is not None and (case.step != step or case.state != CaseState.OPEN):
        return case
    if case.state != CaseState.OPEN:
        if approve and case.state == CaseState.DONE and _is_repeat(case, actor, "complete"):
            return case
        if not approve and case.state == CaseState.REJECTED and _is_repeat(case, actor, action):
            return case
        raise ApplicationError(MSG_CLOSED.format(state=case.get_state_display()), code="closed")
    current = case.chain[case.step]
    ok, why = actor_owns(actor, current)
    if not ok:
        if _is_repeat(case, actor, action):
            return case
        raise ApplicationError(why, code="forbidden")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ApplicationError(MSG_REASON, code="invalid")
    guard = _DECISIONS.get(case.kind)
    if guard is not None:
        guard(case, actor, approve, reason)
    if not approve:
        if not reason:
            raise ApplicationError(MSG_REASON, code="invalid")
        case.state = CaseState.REJECTED
        case.closed_at = timezone.now()
        CaseStep.objects.create(
            case=case, actor=actor.label, action=action, step=case.step, note=reason[:500]
        )
        handler = _CLOSINGS.get(case.kind)
        if handler is not None:
            handler(case)
        case.save(update_fields=["state", "closed_at", "updated_at"])
        return case
    CaseStep.objects.create(
        case=case, actor=actor.label, action=action, step=case.step, note=reason[:500]
    )
    if case.step + 1 < len(case.chain):
        case.step += 1
        case.due_on = _due()
        case.escalated = False
        case.save(update_fields=["step", "due_on", "escalated", "updated_at"])
        return case
    handler = _COMPLETIONS.get(case.kind)
    if handler is not None:
        handler(case)
    case.state = CaseState.DONE
    case.closed_at = timezone.now()
    case.save(update_fields=["state", "closed_at", "payload", "updated_at"])
    CaseStep.objects.create(
        case=case, actor=actor.label, action=CaseStep.Action.COMPLETE, step=case.step
    )
    return case


@transaction.atomic
def case_withdraw(*, case_id: uuid.UUID | str, actor: CaseActor, reason: str) -> Case:
    """The applying school takes its case back while it is open (§3.6: the applicant
    can go to WITHDRAWN). Withdrawing twice is a no-op."""
    case = _locked(case_id)
    if case.state == CaseState.WITHDRAWN and _is_repeat(case, actor, CaseStep.Action.WITHDRAW):
        return case
    if actor.schema_name != _school_schema(case.school_id) or not (
        {RIGHT_APPLY, RIGHT_SCHOOL_STEP} & actor.rights
    ):
        raise ApplicationError(MSG_NOT_APPLICANT, code="forbidden")
    if case.state != CaseState.OPEN:
        raise ApplicationError(MSG_CLOSED.format(state=case.get_state_display()), code="closed")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(MSG_WITHDRAW_REASON, code="invalid")
    case.state = CaseState.WITHDRAWN
    case.closed_at = timezone.now()
    CaseStep.objects.create(
        case=case,
        actor=actor.label,
        action=CaseStep.Action.WITHDRAW,
        step=case.step,
        note=reason[:500],
    )
    handler = _CLOSINGS.get(case.kind)
    if handler is not None:
        handler(case)
    case.save(update_fields=["state", "closed_at", "updated_at"])
    return case


@transaction.atomic
def case_payload_update(*, case_id: uuid.UUID | str, changes: dict[str, Any]) -> Case:
    """Merge non-PII data into an open case's payload (e.g. a certificate number)."""
    case = _locked(case_id)
    case.payload = {**case.payload, **changes}
    case.save(update_fields=["payload", "updated_at"])
    return case


def cases_escalate_overdue(today: dt.date | None = None) -> int:
    """Mark every open case whose current step is past its deadline as escalated (the
    bureau of the current owner sees it flagged); one history entry per escalation.
    Returns how many cases were escalated now."""
    today = today or timezone.localdate()
    count = 0
    ids = list(
        Case.objects.filter(state=CaseState.OPEN, escalated=False, due_on__lt=today).values_list(
            "pk", flat=True
        )
    )
    for case_id in ids:
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=case_id)
            if (
                case.state != CaseState.OPEN
                or case.escalated
                or case.due_on is None
                or case.due_on >= today
            ):
                continue
            case.escalated = True
            case.save(update_fields=["escalated", "updated_at"])
            CaseStep.objects.create(
                case=case,
                actor="system@public",
                action=CaseStep.Action.ESCALATE,
                step=case.step,
                note=f"超过办理期限（{case.due_on:%Y-%m-%d}），已上报教育局。",
            )
            count += 1
    return count


def escalation_region(case: Case) -> str | None:
    """The bureau that sees an overdue step: the step's own bureau, or for a school step
    the county of that school."""
    current = case.current
    if current is None:
        return None
    if current.get("owner") == "bureau":
        return str(current.get("region"))
    return school_ref(int(current["school_id"])).county or None  # type: ignore[call-overload]
