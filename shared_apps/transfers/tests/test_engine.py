"""The business-case engine: every transition, the forbidden ones included."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.test import override_settings
from django.utils import timezone

from common.exceptions import ApplicationError
from common.workdays import add_workdays, is_workday, workdays_between
from shared_apps.transfers import services
from shared_apps.transfers.models import Case, CaseKind, CaseState, CaseStep
from shared_apps.transfers.selectors import (
    case_for_region,
    case_for_school,
    case_open_for,
    cases_for_region,
    cases_for_school,
)
from shared_apps.transfers.services import (
    CaseActor,
    case_decide,
    case_open,
    case_withdraw,
    cases_escalate_overdue,
    chain_in_school,
    chain_transfer,
)

if TYPE_CHECKING:
    from conftest import World

KIND = CaseKind.OTHER_LEAVE
SCHOOL_RIGHTS = frozenset({"registry.approve", "registry.view"})
BUREAU_RIGHTS = frozenset({"bureau.audit"})


def school_actor(world: World, key: str, username: str = "approver", **kw: object) -> CaseActor:
    ref = getattr(world, key)
    return CaseActor(username, ref.schema, None, kw.get("rights", SCHOOL_RIGHTS))  # type: ignore[arg-type]


def bureau_actor(region: str = "430181000000", rights: frozenset[str] = BUREAU_RIGHTS) -> CaseActor:
    return CaseActor("liuyang", "public", region, rights)


@pytest.fixture
def handlers() -> Iterator[list[str]]:
    """A completion and a closing handler for the test kind that record their calls."""
    calls: list[str] = []
    saved = (
        services._COMPLETIONS.get(KIND),
        services._CLOSINGS.get(KIND),
        services._DETAILS.get(KIND),
    )
    services.register_completion(KIND, lambda case: calls.append(f"complete:{case.number}"))
    services.register_closing(KIND, lambda case: calls.append(f"close:{case.state}"))
    services.register_detail(KIND, lambda case: [("离校原因", str(case.payload.get("why")))])
    yield calls
    for table, value in zip(
        (services._COMPLETIONS, services._CLOSINGS, services._DETAILS), saved, strict=True
    ):
        if value is None:
            table.pop(KIND, None)  # type: ignore[attr-defined]
        else:
            table[KIND] = value  # type: ignore[index]


def open_case(world: World, key: str = "a", **kw: object) -> Case:
    ref = getattr(world, key)
    return case_open(
        kind=str(kw.get("kind", KIND)),
        school_id=ref.id,
        student_uuid=kw.get("student_uuid", uuid.uuid4()),  # type: ignore[arg-type]
        summary={"name": "张*三"},
        chain=kw.get("chain") or chain_in_school(ref.id),  # type: ignore[arg-type]
        created_by=f"registrar@{ref.schema}",
        payload={"why": "随父母外出"},
    )


def test_open_sets_first_step_deadline_and_history(
    public: None, world: World, handlers: list
) -> None:
    case = open_case(world)
    assert case.state == CaseState.OPEN
    assert case.step == 0
    assert case.number.startswith("YD")
    assert len(case.number) == 15
    assert case.due_on == add_workdays(timezone.localdate(), 10)
    assert [s.action for s in case.steps.all()] == ["submit"]
    assert case.chain[0]["owner"] == "school"
    assert case.chain[0]["school_id"] == world.a.id
    assert case.chain[1] == {
        "owner": "bureau",
        "school_id": None,
        "region": "430181000000",
        "label": "县级教育行政部门审核",
        "owner_name": "浏阳市教育局",
    }
    assert services.case_detail_lines(case) == [("离校原因", "随父母外出")]


def test_full_approval_runs_completion_once(public: None, world: World, handlers: list) -> None:
    case = open_case(world)
    case = case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True, step=0)
    assert (case.step, case.state) == (1, CaseState.OPEN)
    case = case_decide(case_id=case.pk, actor=bureau_actor(), approve=True, step=1)
    assert case.state == CaseState.DONE
    assert case.closed_at is not None
    assert handlers == [f"complete:{case.number}"]
    assert [s.action for s in case.steps.all()] == ["submit", "approve", "approve", "complete"]
    # Repeating the last approval (double click, with or without the step) changes nothing.
    again = case_decide(case_id=case.pk, actor=bureau_actor(), approve=True, step=1)
    again = case_decide(case_id=case.pk, actor=bureau_actor(), approve=True)
    assert again.state == CaseState.DONE
    assert handlers == [f"complete:{case.number}"]
    assert case.steps.count() == 4


def test_double_click_on_a_middle_step_is_a_no_op(
    public: None, world: World, handlers: list
) -> None:
    case = open_case(world)
    case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True, step=0)
    again = case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True, step=0)
    assert again.step == 1
    again = case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True)
    assert again.step == 1
    assert case.steps.filter(action="approve").count() == 1


@pytest.mark.parametrize(
    ("actor_case", "message"),
    [
        ("other_school", "该业务当前由“测试甲小学”办理"),
        ("bureau_too_early", "该业务当前由“测试甲小学”办理"),
        ("no_right", "您没有办理该步骤的权限"),
    ],
)
def test_wrong_owner_at_school_step_is_refused(
    public: None, world: World, handlers: list, actor_case: str, message: str
) -> None:
    case = open_case(world)
    actor = {
        "other_school": school_actor(world, "b"),
        "bureau_too_early": bureau_actor(),
        "no_right": school_actor(world, "a", "registrar", rights=frozenset({"registry.edit"})),
    }[actor_case]
    with pytest.raises(ApplicationError, match=message):
        case_decide(case_id=case.pk, actor=actor, approve=True)
    case.refresh_from_db()
    assert (case.step, case.state) == (0, CaseState.OPEN)
    assert case.steps.count() == 1


@pytest.mark.parametrize(
    "actor_case", ["other_county", "school_user", "officer_without_audit", "no_region"]
)
def test_wrong_owner_at_bureau_step_is_refused(
    public: None, world: World, handlers: list, actor_case: str
) -> None:
    case = open_case(world)
    case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True)
    actor = {
        "other_county": bureau_actor("430182000000"),
        "school_user": school_actor(world, "a", "principal"),
        "officer_without_audit": bureau_actor(rights=frozenset({"bureau.schools.view"})),
        "no_region": CaseActor("op", "public", None, BUREAU_RIGHTS),
    }[actor_case]
    with pytest.raises(ApplicationError):
        case_decide(case_id=case.pk, actor=actor, approve=True)
    case.refresh_from_db()
    assert (case.step, case.state) == (1, CaseState.OPEN)
    assert handlers == []


def test_city_officer_covers_the_county_step(public: None, world: World, handlers: list) -> None:
    case = open_case(world)
    case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True)
    case = case_decide(case_id=case.pk, actor=bureau_actor("430100000000"), approve=True)
    assert case.state == CaseState.DONE


def test_reject_needs_reason_then_closes(public: None, world: World, handlers: list) -> None:
    case = open_case(world)
    with pytest.raises(ApplicationError, match="退回时请填写原因"):
        case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=False, reason=" ")
    case = case_decide(
        case_id=case.pk, actor=school_actor(world, "a"), approve=False, reason="材料不全"
    )
    assert case.state == CaseState.REJECTED
    assert handlers == ["close:rejected"]
    assert case.steps.last().note == "材料不全"  # type: ignore[union-attr]
    # Reject then approve: refused, nothing changes, no completion.
    with pytest.raises(ApplicationError, match="该业务已已退回|不能再办理"):
        case_decide(case_id=case.pk, actor=bureau_actor(), approve=True)
    with pytest.raises(ApplicationError, match="不能再办理"):
        case_decide(case_id=case.pk, actor=school_actor(world, "b"), approve=True)
    # The same rejection repeated is a no-op.
    case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=False, reason="材料不全")
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED
    assert handlers == ["close:rejected"]


def test_withdraw_by_applicant_only(public: None, world: World, handlers: list) -> None:
    case = open_case(world)
    registrar_b = CaseActor("registrar", world.b.schema, None, frozenset({"registry.edit"}))
    with pytest.raises(ApplicationError, match="只有申请学校可以撤回"):
        case_withdraw(case_id=case.pk, actor=registrar_b, reason="x")
    with pytest.raises(ApplicationError, match="只有申请学校可以撤回"):
        case_withdraw(case_id=case.pk, actor=bureau_actor(), reason="x")
    teacher_a = CaseActor("teacher", world.a.schema, None, frozenset({"registry.view_own"}))
    with pytest.raises(ApplicationError, match="只有申请学校可以撤回"):
        case_withdraw(case_id=case.pk, actor=teacher_a, reason="x")
    registrar_a = CaseActor("registrar", world.a.schema, None, frozenset({"registry.edit"}))
    with pytest.raises(ApplicationError, match="撤回时请填写原因"):
        case_withdraw(case_id=case.pk, actor=registrar_a, reason="")
    case = case_withdraw(case_id=case.pk, actor=registrar_a, reason="家长改变主意")
    assert case.state == CaseState.WITHDRAWN
    assert handlers == ["close:withdrawn"]
    again = case_withdraw(case_id=case.pk, actor=registrar_a, reason="家长改变主意")
    assert again.state == CaseState.WITHDRAWN
    with pytest.raises(ApplicationError, match="不能再办理"):
        case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True)
    assert handlers == ["close:withdrawn"]


def test_withdraw_of_a_done_case_is_refused(public: None, world: World, handlers: list) -> None:
    case = open_case(world)
    case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True)
    case_decide(case_id=case.pk, actor=bureau_actor(), approve=True)
    registrar_a = CaseActor("registrar", world.a.schema, None, frozenset({"registry.edit"}))
    with pytest.raises(ApplicationError, match="已办结"):
        case_withdraw(case_id=case.pk, actor=registrar_a, reason="晚了")


def test_one_open_case_per_student(public: None, world: World, handlers: list) -> None:
    student = uuid.uuid4()
    first = open_case(world, student_uuid=student)
    with pytest.raises(ApplicationError, match=f"该学生已有在办业务（{first.number}）"):
        open_case(world, student_uuid=student)
    assert case_open_for(student) == first
    registrar_a = CaseActor("registrar", world.a.schema, None, frozenset({"registry.edit"}))
    case_withdraw(case_id=first.pk, actor=registrar_a, reason="重新申请")
    assert case_open_for(student) is None
    second = open_case(world, student_uuid=student)
    assert case_open_for(student) == second


def test_completion_error_rolls_back_the_decision(public: None, world: World) -> None:
    def refuse(case: Case) -> None:
        Case.objects.filter(pk=case.pk).update(payload={"half": "written"})
        raise ApplicationError("学生状态已变化，不能办结。")

    saved = services._COMPLETIONS.get(KIND)
    services.register_completion(KIND, refuse)
    try:
        case = open_case(world)
        case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True)
        with pytest.raises(ApplicationError, match="学生状态已变化"):
            case_decide(case_id=case.pk, actor=bureau_actor(), approve=True)
    finally:
        services._COMPLETIONS.pop(KIND, None)
        if saved is not None:
            services._COMPLETIONS[KIND] = saved
    case.refresh_from_db()
    assert (case.step, case.state, case.payload) == (1, CaseState.OPEN, {"why": "随父母外出"})
    assert [s.action for s in case.steps.all()] == ["submit", "approve"]


def test_unknown_case_and_bad_input(public: None, world: World) -> None:
    with pytest.raises(ApplicationError, match="未找到该业务"):
        case_decide(case_id=uuid.uuid4(), actor=bureau_actor(), approve=True)
    with pytest.raises(ApplicationError, match="未找到该业务"):
        case_decide(case_id="not-a-uuid", actor=bureau_actor(), approve=True)
    with pytest.raises(ApplicationError, match="未知的业务类型"):
        open_case(world, kind="NOPE")
    with pytest.raises(ApplicationError, match="审核流程不能为空"):
        case_open(
            kind=KIND,
            school_id=world.a.id,
            student_uuid=None,
            summary={},
            chain=[],
            created_by="x",
        )
    with pytest.raises(ApplicationError, match="第1步无效"):
        open_case(world, chain=[{"owner": "bureau", "label": "x"}])


def test_transfer_chains_follow_the_county_rule(public: None, world: World) -> None:
    same = chain_transfer(receiving_id=world.a.id, sending_id=world.b.id)
    assert [(s["owner"], s["school_id"], s["region"]) for s in same] == [
        ("school", world.b.id, None),
        ("bureau", None, "430181000000"),
    ]
    other = chain_transfer(receiving_id=world.c.id, sending_id=world.a.id)
    assert [(s["owner"], s["school_id"], s["region"]) for s in other] == [
        ("bureau", None, "430182000000"),
        ("school", world.a.id, None),
        ("bureau", None, "430181000000"),
    ]
    assert [s["owner_name"] for s in other] == ["宁乡市教育局", "测试甲小学", "浏阳市教育局"]


def test_cross_county_chain_walks_both_bureaus(public: None, world: World, handlers: list) -> None:
    chain = chain_transfer(receiving_id=world.c.id, sending_id=world.a.id)
    case = open_case(world, "c", chain=chain)
    with pytest.raises(ApplicationError):
        case_decide(case_id=case.pk, actor=bureau_actor("430181000000"), approve=True)
    case = case_decide(case_id=case.pk, actor=bureau_actor("430182000000"), approve=True)
    with pytest.raises(ApplicationError):
        case_decide(case_id=case.pk, actor=school_actor(world, "c"), approve=True)
    case = case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True)
    case = case_decide(case_id=case.pk, actor=bureau_actor("430181000000"), approve=True)
    assert case.state == CaseState.DONE


def test_escalation_marks_overdue_steps_once(public: None, world: World, handlers: list) -> None:
    case = open_case(world)
    later = case.due_on + dt.timedelta(days=1)  # type: ignore[operator]
    assert cases_escalate_overdue(today=case.due_on) == 0
    assert cases_escalate_overdue(today=later) == 1  # type: ignore[arg-type]
    assert cases_escalate_overdue(today=later) == 0  # type: ignore[arg-type]
    case.refresh_from_db()
    assert case.escalated is True
    assert services.escalation_region(case) == "430181000000"
    assert case.steps.filter(action=CaseStep.Action.ESCALATE).count() == 1
    # The next step gets a fresh deadline and is no longer escalated.
    case = case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True)
    assert case.escalated is False
    assert case.due_on == add_workdays(timezone.localdate(), 10)
    overdue = cases_for_region("430181000000", overdue=True, today=later + dt.timedelta(days=30))  # type: ignore[arg-type]
    assert case in overdue


def test_selectors_scope_by_school_and_region(public: None, world: World, handlers: list) -> None:
    chain = chain_transfer(receiving_id=world.a.id, sending_id=world.b.id)
    case = case_open(
        kind=CaseKind.TRANSFER,
        school_id=world.a.id,
        other_school_id=world.b.id,
        student_uuid=uuid.uuid4(),
        summary={},
        chain=chain,
        created_by="registrar@a",
    )
    assert case_for_school(world.a.id, case.pk) == case
    assert case_for_school(world.b.id, case.pk) == case
    assert case_for_school(world.c.id, case.pk) is None
    assert case_for_school(world.c.id, "garbage") is None
    assert case in cases_for_school(world.b.id, direction="waiting")
    assert case not in cases_for_school(world.a.id, direction="waiting")
    assert case in cases_for_school(world.a.id, direction="incoming")
    assert case in cases_for_school(world.b.id, direction="outgoing")
    assert case_for_region("430181000000", case.pk) == case
    assert case_for_region("430182000000", case.pk) is None
    assert case in cases_for_region("430181000000", kind=CaseKind.TRANSFER, school_id=world.b.id)
    assert case not in cases_for_region("430182000000")
    assert case not in cases_for_region("430181000000", kind=CaseKind.SUSPEND)


@override_settings(WORKDAY_HOLIDAYS=["2026-10-01", "2026-10-02"], WORKDAY_EXTRA=["2026-10-10"])
def test_workdays_skip_weekends_and_holidays() -> None:
    assert add_workdays(dt.date(2026, 12, 4), 10) == dt.date(2026, 12, 18)
    assert not is_workday(dt.date(2026, 10, 1))
    assert is_workday(dt.date(2026, 10, 10))  # a Saturday made a working day
    # Wed 30 Sep + 2: Thu 1 and Fri 2 Oct are holidays, Sat 3/Sun 4 weekend → Mon 5, Tue 6.
    assert add_workdays(dt.date(2026, 9, 30), 2) == dt.date(2026, 10, 6)
    assert workdays_between(dt.date(2026, 12, 4), dt.date(2026, 12, 18)) == 10
    with pytest.raises(ValueError, match="negative"):
        add_workdays(dt.date(2026, 12, 4), -1)


def test_escalated_school_step_shows_in_the_county_queue(
    public: None, world: World, handlers: list
) -> None:
    case = open_case(world)
    assert case not in cases_for_region("430181000000", waiting=True)
    cases_escalate_overdue(today=case.due_on + dt.timedelta(days=1))  # type: ignore[arg-type,operator]
    assert case in cases_for_region("430181000000", waiting=True)
    assert case not in cases_for_region("430182000000", waiting=True)
