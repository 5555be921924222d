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


def _post(client, path: str, data: dict | None = None):
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
) -> None:
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


# -- 为调入学校开通账号 ---------------------------------------------------------------------


def _passed_by_a(world: World, *, staff_no: str, open_account: bool) -> str:
    """A teacher of A whose 调出 to B (asking for an account or not) A's approver has
    passed: it waits for B's acceptance. Returns the case id."""
    from common.actor import Actor
    from shared_apps.transfers.services import CaseActor, case_decide
    from tenant_apps.registry.teachers.transfer import teacher_transfer_start

    teacher_id = _teacher(world, staff_no=staff_no, name="开号老师")
    with school_context(world.a.schema):
        case = teacher_transfer_start(
            teacher_id=teacher_id,
            to_school_code=world.b.code,
            mode="move",
            reason="工作调动",
            actor=Actor("admin", "管理员", world.a.schema),
            open_account=open_account,
        )
    case_decide(
        case_id=case.pk,
        actor=CaseActor("approver", world.a.schema, None, frozenset({"registry.approve"})),
        approve=True,
    )
    connection.set_schema_to_public()
    return str(case.pk)


def test_the_application_asks_for_an_account_and_the_acceptance_opens_it(
    world: World,
) -> None:
    """The sending school's page asks 为调入学校开通账号; B's acceptance opens the account
    (username = staff number, 全体教师, must change the password), links it to the new
    record, shows the one-time password to B's approver on that answer only, and writes
    an entry in B's log; the password is stored nowhere readable."""
    from accounts.models import AuditEntry, User
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import Teacher

    # given: A applies from the teacher's page with the box ticked, A's approver passes it
    teacher_id = _teacher(world, staff_no="T900", name="开号老师")
    opened = _post(
        login(world.a.host, "admin"),
        f"/school/teachers/{teacher_id}/transfer/",
        {"mode": "move", "to_school_code": world.b.code, "open_account": "1"},
    )
    assert opened.status_code == 302
    case = Case.objects.get(kind="TEACHER_TRANSFER")
    assert case.payload["open_account"] is True
    _post(
        login(world.a.host, "approver"),
        f"/transfers/cases/{case.pk}/decide/",
        {"decision": "approve", "step": "0"},
    )

    # when: B's approver accepts
    b_approver = login(world.b.host, "approver")
    accepted = _post(
        b_approver, f"/transfers/cases/{case.pk}/decide/", {"decision": "approve", "step": "1"}
    )

    # then: the answer itself (no redirect, not cached) shows the account and its password
    assert accepted.status_code == 200
    assert accepted["Cache-Control"] == "no-store"
    page = accepted.content.decode()
    password = page.split('<code class="secret">')[1].split("</code>")[0]
    assert len(password) == 12
    case.refresh_from_db()
    assert case.state == "done"
    assert case.payload["account"] == "opened"
    assert password not in str(case.payload)
    with school_context(world.b.schema):
        account = User.objects.get(username="T900")
        assert (account.full_name, account.must_change_password) == ("开号老师", True)
        assert sorted(account.groups.values_list("name", flat=True)) == ["all_teachers"]
        assert account.check_password(password)
        assert Teacher.objects.get(staff_no="T900").user == account
        entry = AuditEntry.objects.get(object_type="user", object_id=str(account.pk))
        assert entry.username == f"approver@{world.b.schema}"
        assert entry.object_repr == f"为调入教师开通账号：开号老师（T900，{case.number}）"
        assert password not in str(entry.before) + str(entry.after) + entry.object_repr
    with school_context(world.a.schema):
        assert User.objects.filter(username="T900").exists() is False
    connection.set_schema_to_public()
    # the case page afterwards names the outcome, never the password
    again = b_approver.get(f"/transfers/cases/{case.pk}/").content.decode()
    connection.set_schema_to_public()
    assert "已为调入学校开通账号" in again
    assert password not in again
    # and the new teacher signs in with it (and is asked to change it)
    login(world.b.host, "T900", password)


def test_the_api_acceptance_answers_the_one_time_password(world: World) -> None:
    from accounts.models import User

    case_id = _passed_by_a(world, staff_no="T901", open_account=True)
    b_approver = login(world.b.host, "approver")
    answer = b_approver.post(
        f"/api/v1/cases/{case_id}/decision/",
        {"approve": True, "step": 1},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    assert answer.json()["state"] == "done"
    [handed] = answer.json()["handed_over"]
    assert handed["username"] == "T901"
    with school_context(world.b.schema):
        assert User.objects.get(username="T901").check_password(handed["initial_password"])
    connection.set_schema_to_public()


def test_an_existing_account_is_linked_and_no_account_is_opened(world: World) -> None:
    """B already has an account of that staff number (its 任课教师 "subject"): the record
    is linked to it as before; nothing is opened and no password is shown."""
    from accounts.models import User
    from tenant_apps.registry.models import Teacher

    case_id = _passed_by_a(world, staff_no="subject", open_account=True)
    with school_context(world.b.schema):
        users_before = User.objects.count()
    connection.set_schema_to_public()
    accepted = _post(
        login(world.b.host, "approver"),
        f"/transfers/cases/{case_id}/decide/",
        {"decision": "approve", "step": "1"},
    )
    assert accepted.status_code == 302
    with school_context(world.b.schema):
        assert User.objects.count() == users_before
        assert Teacher.objects.get(staff_no="subject").user == User.objects.get(username="subject")
    connection.set_schema_to_public()


def test_without_the_request_no_account_is_opened(world: World) -> None:
    from accounts.models import User
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import Teacher

    case_id = _passed_by_a(world, staff_no="T902", open_account=False)
    accepted = _post(
        login(world.b.host, "approver"),
        f"/transfers/cases/{case_id}/decide/",
        {"decision": "approve", "step": "1"},
    )
    assert accepted.status_code == 302
    assert Case.objects.get(pk=case_id).payload["account"] == "none"
    with school_context(world.b.schema):
        assert User.objects.filter(username="T902").exists() is False
        assert Teacher.objects.get(staff_no="T902").user is None
    connection.set_schema_to_public()


def test_a_username_taken_by_another_teacher_refuses_the_acceptance(world: World) -> None:
    """B's account of that username belongs to another teacher record there: opening is
    refused with the reason and nothing moves (one transaction)."""
    from accounts.models import User
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from shared_apps.transfers.services import CaseActor, case_decide
    from tenant_apps.registry.models import Teacher
    from tenant_apps.registry.teachers.services import teacher_create

    case_id = _passed_by_a(world, staff_no="staff", open_account=True)
    with school_context(world.b.schema):
        other = teacher_create(
            data={"staff_no": "B77", "name": "乙校老师", "sex": "1"},
            actor=Actor("admin", "管理员", world.b.schema),
        )
        Teacher.objects.filter(pk=other.pk).update(user=User.objects.get(username="staff"))
        with pytest.raises(ApplicationError) as refused:
            case_decide(
                case_id=case_id,
                actor=CaseActor("approver", world.b.schema, None, frozenset({"registry.approve"})),
                approve=True,
            )
        assert "调入学校已有用户名为 staff 的账号且已关联其他教师" in refused.value.message
        assert Teacher.objects.filter(staff_no="staff").exists() is False
    connection.set_schema_to_public()
