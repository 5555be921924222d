"""跨校转移 of a teacher through both schools (issue 13 items 4 and 8): school A opens
the case from the teacher's page, A's approver passes it, B's approver accepts it; then
B has the record (linked to B's account of that staff number) and A keeps it as 调出
with the case named. Before acceptance B sees only the masked summary; a wrong school
code, the own school and a second open case are refused with the field named."""

from __future__ import annotations

import pytest
from django.db import connection

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _teacher(world: World, staff_no: str = "subject", name: str = "调动老师") -> int:
    from common.actor import Actor
    from tenant_apps.registry.teachers.services import teacher_create

    with school_context(world.a.schema):
        teacher = teacher_create(
            data={"staff_no": staff_no, "name": name, "sex": "2", "subject": "美术"},
            actor=Actor("admin", "管理员", world.a.schema),
        )
    connection.set_schema_to_public()
    return teacher.pk


def _post(client, path: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    response = client.post(path, data or {})
    connection.set_schema_to_public()
    return response


def test_a_teacher_moves_to_another_school_through_a_case_of_both(world: World) -> None:
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import Teacher

    teacher_id = _teacher(world)
    a_admin = login(world.a.host, "admin")
    opened = _post(
        a_admin,
        f"/school/teachers/{teacher_id}/transfer/",
        {"mode": "move", "to_school_code": world.b.code, "reason": "工作调动"},
    )
    assert opened.status_code == 302
    case = Case.objects.get(kind="TEACHER_TRANSFER")
    assert opened["Location"] == f"/transfers/cases/{case.pk}/"
    assert case.summary == {"name": "调**师", "school": world.a.name}
    assert (case.school_id, case.other_school_id) == (world.b.id, world.a.id)

    # a second case for the same teacher is refused while this one is open
    again = _post(
        a_admin,
        f"/school/teachers/{teacher_id}/transfer/",
        {"mode": "lend", "to_school_code": world.b.code},
    )
    assert again.status_code == 302
    assert Case.objects.filter(kind="TEACHER_TRANSFER").count() == 1

    # B sees the case's masked summary only, never A's record, until it accepts
    b_approver = login(world.b.host, "approver")
    b_page = b_approver.get(f"/transfers/cases/{case.pk}/").content.decode()
    connection.set_schema_to_public()
    assert "调**师" in b_page
    assert "调动老师" not in b_page
    early = _post(
        b_approver, f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": "1"}
    )
    assert early.status_code == 302
    case.refresh_from_db()
    assert (case.step, case.state) == (0, "open")

    a_approver = login(world.a.host, "approver")
    _post(a_approver, f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": "0"})
    case.refresh_from_db()
    assert (case.step, case.state) == (1, "open")
    with school_context(world.b.schema):
        assert Teacher.objects.filter(name="调动老师").exists() is False
    connection.set_schema_to_public()

    _post(b_approver, f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": "1"})
    case.refresh_from_db()
    assert case.state == "done"
    with school_context(world.b.schema):
        from accounts.models import User

        arrived = Teacher.objects.get(staff_no="subject")
        assert (arrived.name, arrived.subject, arrived.status) == ("调动老师", "美术", "active")
        assert arrived.status_note == f"调入自{world.a.name}（{case.number}）"
        assert arrived.user == User.objects.get(username="subject")
    with school_context(world.a.schema):
        left = Teacher.objects.get(pk=teacher_id)
        assert left.status == "transferred"
        assert left.status_note == f"调出至{world.b.name}（{case.number}）"
    connection.set_schema_to_public()


def test_a_lent_teacher_stays_on_the_senders_list_as_lent(world: World) -> None:
    from common.actor import Actor
    from shared_apps.transfers.services import CaseActor, case_decide
    from tenant_apps.registry.models import Teacher
    from tenant_apps.registry.teachers.transfer import teacher_transfer_start

    teacher_id = _teacher(world, staff_no="L01", name="借调老师")
    with school_context(world.a.schema):
        case = teacher_transfer_start(
            teacher_id=teacher_id,
            to_school_code=world.b.code,
            mode="lend",
            reason="支教一年",
            actor=Actor("admin", "管理员", world.a.schema),
        )
    rights = frozenset({"registry.approve"})
    case_decide(
        case_id=case.pk, actor=CaseActor("approver", world.a.schema, None, rights), approve=True
    )
    with school_context(world.b.schema):
        case_decide(
            case_id=case.pk,
            actor=CaseActor("approver", world.b.schema, None, rights),
            approve=True,
        )
        assert Teacher.objects.get(staff_no="L01").status_note.startswith("借调自")
        assert Teacher.objects.get(staff_no="L01").user is None
    with school_context(world.a.schema):
        lent = Teacher.objects.get(pk=teacher_id)
        assert lent.status == "lent"
        assert lent.serving is True
    connection.set_schema_to_public()


def test_a_wrong_or_own_school_code_is_refused_naming_the_field(world: World) -> None:
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from tenant_apps.registry.teachers.transfer import teacher_transfer_start

    teacher_id = _teacher(world, staff_no="W01")
    actor = Actor("admin", "管理员", world.a.schema)
    with school_context(world.a.schema):
        for code, message in (
            ("9999999999", "调入学校：平台上没有学校标识码为“9999999999”的在用学校。"),
            (world.a.code, "调入学校：不能是本校。"),
        ):
            with pytest.raises(ApplicationError) as refused:
                teacher_transfer_start(
                    teacher_id=teacher_id, to_school_code=code, mode="move", reason="", actor=actor
                )
            assert refused.value.extra == {"to_school_code": [message]}
        with pytest.raises(ApplicationError) as mode:
            teacher_transfer_start(
                teacher_id=teacher_id, to_school_code=world.b.code, mode="x", reason="", actor=actor
            )
        assert "mode" in mode.value.extra
    connection.set_schema_to_public()


def test_acceptance_is_refused_when_the_staff_number_is_taken_there(world: World) -> None:
    from common.actor import Actor
    from shared_apps.transfers.services import CaseActor, case_decide
    from tenant_apps.registry.models import Teacher
    from tenant_apps.registry.teachers.services import teacher_create
    from tenant_apps.registry.teachers.transfer import teacher_transfer_start

    teacher_id = _teacher(world, staff_no="D01", name="重号老师")
    with school_context(world.b.schema):
        teacher_create(
            data={"staff_no": "D01", "name": "乙校老师", "sex": "1"},
            actor=Actor("admin", "管理员", world.b.schema),
        )
    with school_context(world.a.schema):
        case = teacher_transfer_start(
            teacher_id=teacher_id,
            to_school_code=world.b.code,
            mode="move",
            reason="",
            actor=Actor("admin", "管理员", world.a.schema),
        )
    rights = frozenset({"registry.approve"})
    case_decide(
        case_id=case.pk, actor=CaseActor("approver", world.a.schema, None, rights), approve=True
    )
    from common.exceptions import ApplicationError

    with school_context(world.b.schema), pytest.raises(ApplicationError) as refused:
        case_decide(
            case_id=case.pk, actor=CaseActor("approver", world.b.schema, None, rights), approve=True
        )
    assert "调入学校已有工号为 D01 的教师记录" in refused.value.message
    with school_context(world.a.schema):
        assert Teacher.objects.get(pk=teacher_id).status == "active"
    connection.set_schema_to_public()


def test_the_api_opens_the_case_and_names_the_field(world: World) -> None:
    from shared_apps.transfers.models import Case

    teacher_id = _teacher(world, staff_no="API1")
    admin = login(world.a.host, "admin")
    path = f"/api/v1/school/teachers/{teacher_id}/transfer/"
    wrong = admin.post(
        path, {"mode": "move", "to_school_code": "123"}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert wrong.status_code == 400
    assert wrong.json()["error"]["fields"]["to_school_code"] == [
        "调入学校：平台上没有学校标识码为“123”的在用学校。"
    ]
    opened = admin.post(
        path, {"mode": "lend", "to_school_code": world.b.code}, content_type="application/json"
    )
    connection.set_schema_to_public()
    assert opened.status_code == 201, opened.content
    case = Case.objects.get(pk=opened.json()["case_id"])
    assert (case.number, case.payload["mode"]) == (opened.json()["number"], "lend")


def test_approving_a_teacher_transfer_asks_a_stale_session_for_the_password(
    world: World, settings
) -> None:  # type: ignore[no-untyped-def]
    """A teacher's 跨校转移 moves a person between schools like a pupil's 转学: its
    approval takes the password again (transfers.views.REAUTH_KINDS)."""
    from shared_apps.transfers.models import Case

    teacher_id = _teacher(world, staff_no="subject", name="稍后老师")
    opened = _post(
        login(world.a.host, "admin"),
        f"/school/teachers/{teacher_id}/transfer/",
        {"mode": "move", "to_school_code": world.b.code, "reason": "工作调动"},
    )
    assert opened.status_code == 302
    case = Case.objects.get(kind="TEACHER_TRANSFER")
    approver = login(world.a.host, "approver")
    settings.REAUTH_MINUTES = 0  # the password entered at login is now stale
    asked = _post(
        approver, f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": "0"}
    )
    assert asked.status_code == 200
    assert "reauth-password" in asked.content.decode()
    case.refresh_from_db()
    assert case.step == 0, "nothing was decided without the password"
