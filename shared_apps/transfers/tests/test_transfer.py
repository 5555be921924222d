"""Transfers between platform schools: look-up, start, approval chain and the move."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from django.db import connection, connections
from django.test import override_settings

from common.exceptions import ApplicationError
from shared_apps.student_index.models import IndexEntry
from shared_apps.transfers.models import Case, CaseKind, CaseState
from shared_apps.transfers.services import CaseActor, case_decide
from shared_apps.transfers.tests.helpers import actor, cleanup, make_student
from shared_apps.transfers.transfer import transfer_lookup, transfer_start
from tenant_apps.registry.facade.move import InjectedFailure, carried_models, related_models
from tenants.context import school_context

if TYPE_CHECKING:
    from conftest import World
    from shared_apps.transfers.tests.helpers import Made

APPROVER = frozenset({"registry.approve"})
BUREAU = frozenset({"bureau.audit"})


def _class_id(schema: str, entry_year: int = 2024) -> int:
    from tenant_apps.registry.models import SchoolClass

    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=entry_year,
            number=2,
            defaults={"class_no": SchoolClass.make_class_no("primary", entry_year, 2)},
        )
        return klass.pk


def _start(world: World, made: Made, *, receiving: str = "a", sending: str = "b") -> Case:
    r, s = getattr(world, receiving), getattr(world, sending)
    with school_context(r.schema):
        return transfer_start(
            actor=actor("registrar", r.schema),
            sending_school_id=s.id,
            student_uuid=made.identifier,
            target_class_id=_class_id(r.schema),
            reason="随父母工作调动",
        )


def _state(world: World, made: Made) -> dict[str, object]:
    """Where the record is: status per school, index school, rows per school."""
    from tenant_apps.registry.models import Student

    out: dict[str, object] = {}
    for key in ("a", "b", "c"):
        with school_context(getattr(world, key).schema):
            row = Student.objects.filter(identifier=made.identifier).first()
            out[key] = None
            if row is not None:
                out[key] = (
                    row.status,
                    row.family.count(),
                    row.events.count(),
                    row.marks.count(),
                )
    out["index"] = (
        IndexEntry.objects.filter(student_uuid=made.identifier)
        .values_list("school_id", "status")
        .first()
    )
    return out


def test_lookup_by_name_and_id_shows_only_masked_summary(public: None, world: World) -> None:
    made = make_student(
        world.b.schema, world.b.id, name="转学测试张三", id_number="430181201803011234"
    )
    with school_context(world.a.schema):
        found = transfer_lookup(
            requesting_school_id=world.a.id, name="转学测试张三", id_number="430181201803011234"
        )
    assert [f.as_dict() for f in found] == [
        {
            "school_id": world.b.id,
            "school_name": "测试乙小学",
            "student_uuid": str(made.identifier),
            "name": "转****三",
            "id_number": "4301**********1234",
            "status": "在读",
            "grade": "小学2024级",
            "class_name": "小学2024级(01)班",
            "own_school": False,
        }
    ]
    # The national number with the name finds it too; a wrong name finds nothing.
    assert (
        len(
            transfer_lookup(
                requesting_school_id=world.a.id,
                name="转学测试张三",
                national_number=made.national_number,
            )
        )
        == 1
    )
    assert (
        transfer_lookup(
            requesting_school_id=world.a.id, name="别人", id_number="430181201803011234"
        )
        == []
    )
    with pytest.raises(ApplicationError, match="须同时输入学生姓名"):
        transfer_lookup(requesting_school_id=world.a.id, id_number="430181201803011234")


def test_transfer_same_county_moves_everything(public: None, world: World) -> None:
    made = make_student(
        world.b.schema,
        world.b.id,
        name="转学测试李四",
        id_number="430181201803012345",
        own_course_code="X901",
    )
    case = _start(world, made)
    assert case.kind == CaseKind.TRANSFER
    assert [s["owner"] for s in case.chain] == ["school", "bureau"]
    assert case.summary["name"] == "转****四"
    # The receiving school cannot approve the sending school's step.
    with pytest.raises(ApplicationError, match="测试乙小学"):
        case_decide(
            case_id=case.pk,
            actor=CaseActor("approver", world.a.schema, None, APPROVER),
            approve=True,
        )
    case = case_decide(
        case_id=case.pk,
        actor=CaseActor("approver", world.b.schema, None, APPROVER),
        approve=True,
        step=0,
    )
    before = _state(world, made)
    assert before["b"] == ("01", 1, 2, 2)
    assert before["a"] is None
    case = case_decide(
        case_id=case.pk,
        actor=CaseActor("liuyang", "public", "430181000000", BUREAU),
        approve=True,
        step=1,
    )
    assert case.state == CaseState.DONE
    after = _state(world, made)
    # Receiving school: 在读, family, 2 copied events + 转入, both marks; sending: 转出 + event.
    assert after["a"] == ("01", 1, 3, 2)
    assert after["b"] == ("10", 1, 3, 2)
    assert after["index"] == (world.a.id, "01")
    from tenant_apps.grades.models import Course
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        moved = Student.objects.get(identifier=made.identifier)
        assert moved.national_number == made.national_number
        assert moved.school_class_id == _class_id(world.a.schema)
        assert moved.number_in_class == 1
        events = list(moved.events.order_by("at", "id"))
        assert events[0].action == "新增"
        assert events[0].actor == "甲（A1）（测试乙小学）"
        assert events[0].changes == {"copied_from": "测试乙小学"}
        assert events[0].at < events[-1].at  # original dates kept
        assert events[-1].action == "转入"
        assert Course.objects.filter(code="X901").exists()  # the school course came along
    with school_context(world.b.schema):
        left = Student.objects.get(identifier=made.identifier)
        assert left.events.order_by("-at", "-id").first().action == "转出"  # type: ignore[union-attr]
    # Repeating the final approval changes nothing further.
    again = case_decide(
        case_id=case.pk, actor=CaseActor("liuyang", "public", "430181000000", BUREAU), approve=True
    )
    assert again.state == CaseState.DONE
    assert _state(world, made) == after


def test_rejection_leaves_the_record_where_it_is(public: None, world: World) -> None:
    made = make_student(
        world.b.schema, world.b.id, name="转学测试王五", id_number="430181201803013456"
    )
    case = _start(world, made)
    case = case_decide(
        case_id=case.pk,
        actor=CaseActor("approver", world.b.schema, None, APPROVER),
        approve=False,
        reason="学位已满",
    )
    assert case.state == CaseState.REJECTED
    state = _state(world, made)
    assert state["b"][0] == "01"  # type: ignore[index]
    assert state["a"] is None
    with pytest.raises(ApplicationError, match="不能再办理"):
        case_decide(
            case_id=case.pk,
            actor=CaseActor("liuyang", "public", "430181000000", BUREAU),
            approve=True,
        )


def test_start_is_refused_with_what_blocks(public: None, world: World) -> None:
    made = make_student(
        world.b.schema, world.b.id, name="转学测试赵六", id_number="430181201803014567"
    )
    _start(world, made)
    with pytest.raises(ApplicationError, match="在办业务"):
        _start(world, made)
    with pytest.raises(ApplicationError, match="不需要转学"):
        _start(world, made, receiving="b", sending="b")
    other = make_student(
        world.b.schema, world.b.id, name="转学测试钱七", id_number="430181201803015678"
    )
    with school_context(world.a.schema), pytest.raises(ApplicationError, match="同年级"):
        transfer_start(
            actor=actor("registrar", world.a.schema),
            sending_school_id=world.b.id,
            student_uuid=other.identifier,
            target_class_id=_class_id(world.a.schema, entry_year=2023),
            reason="x",
        )
    with school_context(world.a.schema), pytest.raises(ApplicationError, match="未找到该学生"):
        transfer_start(
            actor=actor("registrar", world.a.schema),
            sending_school_id=world.c.id,  # the student is not in school C
            student_uuid=made.identifier,
            target_class_id=_class_id(world.a.schema),
            reason="x",
        )


def test_cross_county_transfer_needs_both_bureaus(public: None, world: World) -> None:
    made = make_student(
        world.c.schema, world.c.id, name="转学测试孙八", id_number="430182201803016789"
    )
    case = _start(world, made, receiving="a", sending="c")
    assert [(s["owner"], s["region"]) for s in case.chain] == [
        ("bureau", "430181000000"),
        ("school", None),
        ("bureau", "430182000000"),
    ]
    case_decide(
        case_id=case.pk, actor=CaseActor("liuyang", "public", "430181000000", BUREAU), approve=True
    )
    case_decide(
        case_id=case.pk, actor=CaseActor("approver", world.c.schema, None, APPROVER), approve=True
    )
    case = case_decide(
        case_id=case.pk,
        actor=CaseActor("ningxiang", "public", "430182000000", BUREAU),
        approve=True,
    )
    assert case.state == CaseState.DONE
    state = _state(world, made)
    assert state["a"][0] == "01"  # type: ignore[index]
    assert state["c"][0] == "10"  # type: ignore[index]
    assert state["index"] == (world.a.id, "01")


def test_every_model_pointing_at_student_is_carried_or_stays() -> None:
    """A new school model with a foreign key to Student is copied by the move unless it
    is one of the sending school's audit artefacts; its other foreign keys need a
    natural key (a unique column) or must be nullable."""
    from tenant_apps.registry.facade.move import natural_key_field, stays

    labels = {m._meta.label_lower for m, _ in related_models()}
    assert {"registry.problemrecord", "registry.statuschange"} <= labels
    assert "grades.mark" in carried_models()
    for model, fk in related_models():
        if stays(model):
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation and f.attname != fk:
                assert f.null or natural_key_field(f.related_model), model._meta.label  # type: ignore[arg-type]


# -- committed data: real transactions, real concurrency ------------------------------


def _final_step_case(world: World, name: str, id_number: str) -> tuple[Case, object]:
    made = make_student(world.b.schema, world.b.id, name=name, id_number=id_number)
    case = _start(world, made)
    case = case_decide(
        case_id=case.pk, actor=CaseActor("approver", world.b.schema, None, APPROVER), approve=True
    )
    return case, made


def test_two_concurrent_final_approvals_make_exactly_one_move(live_db: World) -> None:
    world = live_db
    case, made = _final_step_case(world, "转学测试并发", "430181201803017890")
    try:
        barrier = threading.Barrier(2)
        results: list[object] = []

        def approve(username: str) -> None:
            try:
                barrier.wait()
                result = case_decide(
                    case_id=case.pk,
                    actor=CaseActor(username, "public", "430181000000", BUREAU),
                    approve=True,
                    step=1,
                )
                results.append(result.state)
            except Exception as exc:  # reported, then asserted below
                results.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=approve, args=(u,)) for u in ("liuyang", "liuyang2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert results == ["done", "done"]
        connection.set_schema_to_public()
        state = _state(world, made)  # type: ignore[arg-type]
        assert state["a"] == ("01", 1, 3, 1)
        assert state["b"] == ("10", 1, 3, 1)
        assert state["index"] == (world.a.id, "01")
        assert Case.objects.get(pk=case.pk).steps.filter(action="complete").count() == 1
        from tenant_apps.registry.models import Student

        with school_context(world.a.schema):
            assert Student.objects.filter(identifier=made.identifier).count() == 1  # type: ignore[attr-defined]
    finally:
        cleanup(world, [made.identifier])  # type: ignore[attr-defined]


@pytest.mark.parametrize("point", ["after_receiving_write", "after_source_write", "before_commit"])
def test_injected_failure_leaves_both_schools_and_index_unchanged(
    live_db: World, point: str
) -> None:
    world = live_db
    case, made = _final_step_case(world, "转学测试故障", "430181201803018901")
    try:
        before = _state(world, made)  # type: ignore[arg-type]
        with override_settings(TRANSFERS_FAIL_AT=point), pytest.raises(InjectedFailure):
            case_decide(
                case_id=case.pk,
                actor=CaseActor("liuyang", "public", "430181000000", BUREAU),
                approve=True,
            )
        connection.set_schema_to_public()
        assert _state(world, made) == before  # type: ignore[arg-type]
        assert before["a"] is None
        assert before["b"][0] == "01"  # type: ignore[index]
        assert before["index"] == (world.b.id, "01")
        fresh = Case.objects.get(pk=case.pk)
        assert (fresh.state, fresh.step) == (CaseState.OPEN, 1)
        # The same approval later succeeds: nothing was left half-done.
        done = case_decide(
            case_id=case.pk,
            actor=CaseActor("liuyang", "public", "430181000000", BUREAU),
            approve=True,
        )
        assert done.state == CaseState.DONE
        assert _state(world, made)["index"] == (world.a.id, "01")  # type: ignore[arg-type]
    finally:
        cleanup(world, [made.identifier])  # type: ignore[attr-defined]


def test_transfer_back_reuses_the_identifier(public: None, world: World) -> None:
    """B → A → B: B's old 转出 row steps aside, the index follows the person."""
    made = make_student(
        world.b.schema, world.b.id, name="转学测试往返", id_number="430181201803019012"
    )
    for receiving, sending, approver_schema in (
        ("a", "b", world.b.schema),
        ("b", "a", world.a.schema),
    ):
        case = _start(world, made, receiving=receiving, sending=sending)
        case_decide(
            case_id=case.pk,
            actor=CaseActor("approver", approver_schema, None, APPROVER),
            approve=True,
        )
        case_decide(
            case_id=case.pk,
            actor=CaseActor("liuyang", "public", "430181000000", BUREAU),
            approve=True,
        )
    state = _state(world, made)
    assert state["b"][0] == "01"  # type: ignore[index]
    assert state["a"][0] == "10"  # type: ignore[index]
    assert state["index"] == (world.b.id, "01")
    from tenant_apps.registry.models import Student

    with school_context(world.b.schema):
        assert Student.objects.filter(name="转学测试往返").count() == 2
        assert Student.objects.filter(name="转学测试往返", status="10").count() == 1
