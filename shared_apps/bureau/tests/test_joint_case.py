"""跨县重复学籍联合认定 (issue 19 point 4, domain §3.4 principle 3): two records of the same ID
number in schools of two counties open one joint case; both schools give their 佐证; it
takes effect only when both counties have decided the same; a 佐证 of such a case is never
decided alone, and it stays out of the ordinary 佐证 queue."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from PIL import Image

from common.actor import Actor
from common.exceptions import ApplicationError
from conftest import World
from tenant_apps.registry.tests.factories import resident_id
from tenants.context import school_context

pytestmark = pytest.mark.django_db

BIRTH = dt.date(2017, 10, 1)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


def _registered(schema: str, name: str, id_number: str):
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.services import current_school, index_record

    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=2024,
            number=9,
            defaults={"class_no": SchoolClass.make_class_no("primary", 2024, 9)},
        )
        student = Student.objects.create(
            name=name,
            sex="1",
            birth_date=BIRTH,
            id_type="1",
            id_number=id_number,
            school_class=klass,
            entry_year_month="202409",
            status="01",
            audit_state="registered",
        )
        student = Student.objects.select_related("school_class").get(pk=student.pk)
        index_upsert(school_id=current_school().id, records=[index_record(student)])
    connection.set_schema_to_public()
    return student


def _problem(schema: str, student, other) -> int:
    from tenant_apps.registry.models import ProblemRecord

    with school_context(schema):
        problem = ProblemRecord.objects.create(
            student_id=student.pk,
            kind=ProblemRecord.Kind.DUPLICATE,
            others=[{"student_uuid": str(other.identifier), "school_name": "对方学校"}],
        )
    connection.set_schema_to_public()
    return problem.pk


def _evidence(schema: str, problem_id: int) -> None:
    from tenant_apps.registry.problems.services import problem_evidence_upload

    with school_context(schema):
        problem_evidence_upload(
            problem_id=problem_id,
            name="户口簿.png",
            data=_png(),
            note="本校学生，户口簿为证",
            actor=Actor("registrar", "学籍员", schema),
        )
    connection.set_schema_to_public()


def _state(schema: str, problem_id: int) -> str:
    from tenant_apps.registry.models import ProblemRecord

    with school_context(schema):
        state = ProblemRecord.objects.get(pk=problem_id).state
    connection.set_schema_to_public()
    return state


def _officer(username: str):
    from accounts.models import User

    return User.objects.get(username=username)


def _pair(world: World) -> tuple[int, int]:
    """The same child registered in 浏阳 (A) and in 宁乡 (C); both flagged; both give 佐证."""
    id_number = resident_id(BIRTH, 301)
    a = _registered(world.a.schema, "跨县甲", id_number)
    c = _registered(world.c.schema, "跨县甲", id_number)
    pa, pc = _problem(world.a.schema, a, c), _problem(world.c.schema, c, a)
    _evidence(world.a.schema, pa)
    _evidence(world.c.schema, pc)
    return pa, pc


def test_both_sides_evidence_then_both_counties_decide_the_same(world: World) -> None:
    from accounts.models import AuditEntry
    from shared_apps.bureau.joint import joint_decide
    from shared_apps.bureau.joint_models import JointCase
    from shared_apps.bureau.selectors import evidence_reviews

    pa, pc = _pair(world)
    case = JointCase.objects.get()
    assert case.state == JointCase.State.DECIDING
    assert (case.county_a, case.county_b) == ("430181000000", "430182000000")
    assert case.review_a_id
    assert case.review_b_id
    # the ordinary 佐证 queue of either county leaves them out
    liuyang, ningxiang = _officer(world.bureau_user), _officer(world.other_bureau_user)
    assert not evidence_reviews(user=liuyang).filter(pk=case.review_a_id).exists()
    assert not evidence_reviews(user=ningxiang).filter(pk=case.review_b_id).exists()

    # 浏阳 decides first: nothing happens yet
    case = joint_decide(user=liuyang, case_id=case.pk, outcome="keep_a")
    assert case.state == JointCase.State.DECIDING
    assert _state(world.a.schema, pa) == "evidence_pending"
    # 宁乡 agrees: A's record stands, C's school must delete its own
    case = joint_decide(user=ningxiang, case_id=case.pk, outcome="keep_a")
    assert case.state == JointCase.State.DECIDED
    assert case.outcome == "keep_a"
    assert _state(world.a.schema, pa) == "resolved"
    assert _state(world.c.schema, pc) == "open"
    with school_context(world.c.schema):
        from tenant_apps.registry.models import Evidence

        returned = Evidence.objects.get(problem_id=pc)
        assert returned.decision == "rejected"
        assert "请删除本校的重复学籍" in returned.decision_reason
        assert "测试甲小学" in returned.decision_reason
    connection.set_schema_to_public()
    assert AuditEntry.objects.filter(object_type="joint_case").count() == 2


def test_a_difference_between_the_counties_changes_nothing(world: World) -> None:
    from shared_apps.bureau.joint import joint_decide
    from shared_apps.bureau.joint_models import JointCase

    pa, pc = _pair(world)
    case = JointCase.objects.get()
    joint_decide(user=_officer(world.bureau_user), case_id=case.pk, outcome="keep_a")
    case = joint_decide(user=_officer(world.other_bureau_user), case_id=case.pk, outcome="both")
    assert case.state == JointCase.State.DECIDING
    assert (case.decision_a, case.decision_b) == ("keep_a", "both")
    assert _state(world.a.schema, pa) == _state(world.c.schema, pc) == "evidence_pending"
    # 浏阳 comes round: both kept, both problems resolved
    case = joint_decide(user=_officer(world.bureau_user), case_id=case.pk, outcome="both")
    assert case.outcome == "both"
    assert _state(world.a.schema, pa) == _state(world.c.schema, pc) == "resolved"


def test_one_side_alone_waits_and_a_joint_evidence_is_never_decided_alone(world: World) -> None:
    from shared_apps.bureau.joint import joint_decide
    from shared_apps.bureau.joint_models import JointCase
    from shared_apps.bureau.services import evidence_review_decide

    id_number = resident_id(BIRTH, 303)
    a = _registered(world.a.schema, "跨县乙", id_number)
    c = _registered(world.c.schema, "跨县乙", id_number)
    pa = _problem(world.a.schema, a, c)
    _evidence(world.a.schema, pa)
    case = JointCase.objects.get()
    assert case.state == JointCase.State.COLLECTING
    with pytest.raises(ApplicationError) as waiting:
        joint_decide(user=_officer(world.bureau_user), case_id=case.pk, outcome="keep_a")
    assert "尚未提交齐全" in waiting.value.message
    with pytest.raises(ApplicationError) as alone:
        evidence_review_decide(
            user=_officer(world.bureau_user),
            review_id=case.review_a_id,  # type: ignore[arg-type]
            accept=True,
            reason="",
        )
    assert "跨县" in alone.value.message
    assert _state(world.a.schema, pa) == "evidence_pending"


def test_a_duplicate_inside_one_county_stays_with_the_ordinary_queue(world: World) -> None:
    from shared_apps.bureau.joint_models import JointCase
    from shared_apps.bureau.selectors import evidence_reviews

    id_number = resident_id(BIRTH, 305)
    a = _registered(world.a.schema, "同县丙", id_number)
    b = _registered(world.b.schema, "同县丙", id_number)
    _evidence(world.a.schema, _problem(world.a.schema, a, b))
    assert not JointCase.objects.exists()
    assert evidence_reviews(user=_officer(world.bureau_user)).count() == 1


def test_the_page_lists_the_case_masked_and_takes_the_decision(world: World) -> None:
    from django.test import Client

    from conftest import PASSWORD
    from shared_apps.bureau.joint_models import JointCase

    _pair(world)
    client = Client(HTTP_HOST="localhost")
    assert (
        client.post(
            "/accounts/login/", {"username": world.bureau_user, "password": PASSWORD}
        ).status_code
        == 302
    )
    html = client.get("/bureau/joint/").content.decode()
    assert "跨*甲" in html
    assert "跨县甲" not in html
    assert "查看佐证" in html
    case = JointCase.objects.get()
    response = client.post(f"/bureau/joint/{case.pk}/decide/", {"outcome": "keep_b"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.decision_a == "keep_b"
    assert case.decision_b == ""
