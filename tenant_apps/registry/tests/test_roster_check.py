"""人籍一致 (domain.md §3.18): the class teacher confirms once a term on 本班学生; nobody
else may; a second confirmation is refused; the school's quality figures are refreshed
once it commits; the term is the grades app's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("month", range(1, 13))
def test_the_term_is_the_grades_apps_term(month: int) -> None:
    from tenant_apps.grades.terms import current_term
    from tenant_apps.registry.classes.roster import roster_term

    for day in (1, 15, 28):
        when = dt.date(2026, month, day)
        ours, theirs = roster_term(when), current_term(when)
        assert (ours.school_year, ours.term, ours.label) == (
            theirs.school_year,
            theirs.term,
            theirs.label,
        )


def _make_teacher_of_class(world: World, username: str = "teacher") -> int:
    from tenant_apps.registry.models import SchoolClass, Student

    with school_context(world.a.schema):
        klass = SchoolClass.objects.get(class_no="2024101")
        klass.teacher_username = username
        klass.save(update_fields=["teacher_username"])
        # The session's pupil is a draft: register it, so the roll has one 在读 pupil.
        Student.objects.filter(school_class=klass).update(audit_state="registered")
        pk = klass.pk
    connection.set_schema_to_public()
    return pk


def test_the_class_teacher_confirms_once_a_term(
    world: World, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from accounts.models import AuditEntry
    from tenant_apps.registry.classes.roster import roster_term
    from tenant_apps.registry.facade import quality as quality_facade
    from tenant_apps.registry.models import RosterCheck

    class_id = _make_teacher_of_class(world)
    stale: list[int] = []
    monkeypatch.setattr(
        quality_facade, "_STALE_HANDLERS", {"t": lambda school_id: stale.append(school_id)}
    )
    teacher = login(world.a.host, "teacher")
    page = teacher.get("/registry/students/").content.decode()
    assert "人籍一致确认" in page
    assert "本班名册在读 1 人" in page
    assert f"/registry/classes/{class_id}/roster-check/" in page
    # The class teacher may not start a status change (维护学籍): no link to it is shown.
    assert "/changes/new/" not in page

    with django_capture_on_commit_callbacks(execute=True):
        done = teacher.post(f"/registry/classes/{class_id}/roster-check/", {"note": "全部到校"})
    assert done.status_code == 302
    assert stale == [world.a.id]
    term = roster_term()
    with school_context(world.a.schema):
        check = RosterCheck.objects.get(school_class_id=class_id)
        assert (check.school_year, check.term, check.pupils, check.note, check.confirmed_by) == (
            term.school_year,
            term.term,
            1,
            "全部到校",
            "teacher",
        )
        entry = AuditEntry.objects.filter(object_type="class", object_id=str(class_id)).latest("pk")
        assert entry.after["学期"] == term.label
    connection.set_schema_to_public()
    page = teacher.get("/registry/students/").content.decode()
    assert "已确认" in page
    assert f"/registry/classes/{class_id}/roster-check/" not in page

    again = teacher.post(f"/registry/classes/{class_id}/roster-check/", {}, follow=True)
    assert "本班本学期已确认人籍一致" in again.content.decode()
    with school_context(world.a.schema):
        assert RosterCheck.objects.count() == 1
    connection.set_schema_to_public()


def test_only_the_teacher_of_the_class_confirms(world: World) -> None:
    from tenant_apps.registry.models import RosterCheck

    class_id = _make_teacher_of_class(world, username="someone_else")
    teacher = login(world.a.host, "teacher")
    assert "人籍一致确认" not in teacher.get("/registry/students/").content.decode()
    # Another teacher's class is as unknown to this teacher as a missing one.
    assert teacher.post(f"/registry/classes/{class_id}/roster-check/").status_code == 404
    # The registrar keeps the whole school but sees no pupils in a room: not theirs either.
    registrar = login(world.a.host, "registrar")
    assert registrar.post(f"/registry/classes/{class_id}/roster-check/").status_code == 403
    assert teacher.post("/registry/classes/999999/roster-check/").status_code == 404
    with school_context(world.a.schema):
        assert not RosterCheck.objects.exists()
    connection.set_schema_to_public()


def test_a_registrar_who_is_also_the_class_teacher_gets_the_status_change_links(
    world: World,
) -> None:
    """With 维护学籍 the roll links each pupil to the existing status-change start."""
    from django.contrib.auth.models import Group

    from accounts.models import User
    from tenant_apps.registry.models import Student

    _make_teacher_of_class(world, username="registrar")
    with school_context(world.a.schema):
        user = User.objects.get(username="registrar")
        user.groups.add(Group.objects.get(name="class_teacher"))
        pupil = Student.objects.get(school_class__class_no="2024101")
        link = f"/registry/students/{pupil.identifier}/changes/new/"
    connection.set_schema_to_public()
    page = login(world.a.host, "registrar").get("/registry/students/").content.decode()
    assert "人籍一致确认" in page
    assert link in page


def test_the_api_lists_and_confirms_like_the_page(world: World, monkeypatch) -> None:
    from tenant_apps.registry.classes.roster import roster_term
    from tenant_apps.registry.facade import quality as quality_facade

    monkeypatch.setattr(quality_facade, "_STALE_HANDLERS", {})
    class_id = _make_teacher_of_class(world)
    teacher = login(world.a.host, "teacher")
    listed = teacher.get("/api/v1/roster-checks/").json()
    assert [(c["class_id"], c["pupils"], c["confirmed"]) for c in listed] == [(class_id, 1, False)]
    assert listed[0]["term_label"] == roster_term().label
    done = teacher.post("/api/v1/roster-checks/", {"class_id": class_id, "note": "齐"})
    assert done.status_code == 201
    assert (done.json()["confirmed"], done.json()["note"]) == (True, "齐")
    again = teacher.post("/api/v1/roster-checks/", {"class_id": class_id})
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "本班本学期已确认人籍一致，无需重复确认。"
    assert teacher.post("/api/v1/roster-checks/", {"class_id": 999999}).status_code == 404
    # School B's teacher, with B's session, is nobody on A's host.
    intruder = login(world.b.host, "teacher")
    assert intruder.get("/api/v1/roster-checks/", HTTP_HOST=world.a.host).status_code == 401
