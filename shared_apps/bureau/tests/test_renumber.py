"""学籍辅号 renumbering (domain.md §3.11): preview in class and 班内学号 order, apply in
every school of the county in one transaction, lock, refused edits while locked (single
entry, edit, import), unlock with a reason, the pluggable format, and who may do it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from conftest import SENTINEL_STUDENT, World, login
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db

YEAR = 2024  # the grade of the conftest classes 2024101 in schools A, B and C


def _user(username: str):
    from accounts.models import User

    connection.set_schema_to_public()
    return User.objects.get(username=username)


def _add(schema: str, name: str, class_number: int, number: int | None, aux: str = "") -> int:
    from tenant_apps.registry.models import SchoolClass, Student

    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=YEAR,
            number=class_number,
            defaults={"class_no": SchoolClass.make_class_no("primary", YEAR, class_number)},
        )
        pk = Student.objects.create(
            name=name,
            sex="1",
            birth_date=dt.date(2018, 3, 1),
            school_class=klass,
            number_in_class=number,
            entry_year_month="202409",
            aux_number=aux,
        ).pk
    connection.set_schema_to_public()
    return pk


def _aux(schema: str, name: str) -> str:
    from tenant_apps.registry.models import Student

    with school_context(schema):
        value = Student.objects.get(name=name).aux_number
    connection.set_schema_to_public()
    return value


@pytest.fixture
def grade(world: World) -> dict[str, str]:
    """School A: class 1 holds the sentinel (#1) and a pupil without a 班内学号; class 2
    two pupils entered out of order. School B: its conftest pupil (#1) and one more."""
    _add(world.a.schema, "甲无号", 1, None)
    _add(world.a.schema, "甲二班二", 2, 2, aux="OLD-2")
    _add(world.a.schema, "甲二班一", 2, 1)
    _add(world.b.schema, "乙一班五", 1, 5)
    _add(world.c.schema, "丙一班一", 1, 1, aux="C-KEEP")
    return {"a": world.a.schema, "b": world.b.schema}


def test_preview_orders_by_school_class_and_in_class_number(world: World, grade: dict) -> None:
    from shared_apps.bureau.renumber import renumber_plan

    plan = renumber_plan(user=_user("liuyang"), stage="primary", entry_year="2024")
    got = [(r.school_name, r.class_name, r.number_in_class, r.new) for r in plan.rows]
    assert got == [
        ("测试甲小学", "小学2024级(01)班", 1, "1248100010001"),  # the sentinel
        ("测试甲小学", "小学2024级(01)班", None, "1248100010002"),
        ("测试甲小学", "小学2024级(02)班", 1, "1248100010003"),
        ("测试甲小学", "小学2024级(02)班", 2, "1248100010004"),
        ("测试乙小学", "小学2024级(01)班", 1, "1248100020001"),
        ("测试乙小学", "小学2024级(01)班", 5, "1248100020002"),
    ]
    # Masked names only; nothing of the other county; nothing written by a preview.
    assert plan.rows[0].name == "哨**乙"
    assert all("丙" not in r.name for r in plan.rows)
    assert _aux(world.a.schema, "甲二班二") == "OLD-2"
    assert plan.changed == 6


def test_apply_writes_every_school_with_history_then_lock_refuses_school_edits(
    world: World, grade: dict
) -> None:
    from shared_apps.bureau.models import AuxNumbering
    from shared_apps.bureau.renumber import renumber_apply, renumber_lock, renumber_plan
    from tenant_apps.registry.models import Student, StudentEvent

    user = _user("liuyang")
    plan = renumber_plan(user=user, stage="primary", entry_year=YEAR)
    assert renumber_apply(user=user, stage="primary", entry_year=YEAR, digest=plan.digest) == 6
    assert _aux(world.a.schema, "甲二班二") == "1248100010004"
    assert _aux(world.b.schema, "乙一班五") == "1248100020002"
    assert _aux(world.c.schema, "丙一班一") == "C-KEEP"  # another county is untouched
    with school_context(world.a.schema):
        event = StudentEvent.objects.get(student__name="甲二班二", action="学籍辅号编排")
        assert event.changes == {"aux_number": ["OLD-2", "1248100010004"]}
        assert "浏阳市教育局" in event.actor
    connection.set_schema_to_public()
    # Applying the same list again changes nothing and writes no second event.
    again = renumber_plan(user=user, stage="primary", entry_year=YEAR)
    assert again.changed == 0
    assert renumber_apply(user=user, stage="primary", entry_year=YEAR, digest=again.digest) == 0
    with school_context(world.a.schema):
        assert StudentEvent.objects.filter(action="学籍辅号编排").count() == 4
    connection.set_schema_to_public()

    renumber_lock(user=user, stage="primary", entry_year=YEAR)
    numbering = AuxNumbering.objects.get(county_id="430181000000", stage="primary", entry_year=YEAR)
    assert numbering.state == "locked"
    assert numbering.locked_by == "liuyang"

    # The school may no longer change a 辅号 of that grade: edit, single entry, import.
    from common.actor import Actor
    from common.exceptions import ApplicationError
    from tenant_apps.registry.imports.pipeline import students_create_bulk
    from tenant_apps.registry.students import services
    from tenant_apps.registry.students.forms import student_raw

    actor = Actor(username="registrar", name="学籍管理员", schema=world.a.schema)
    with school_context(world.a.schema):
        assert services.aux_number_locked("primary", YEAR)
        assert not services.aux_number_locked("primary", YEAR - 1)
        row = valid_row(seq=901)
        student = services.student_register(raw=row, actor=actor)
        assert student.aux_number == ""  # a new pupil without a 辅号 is still welcome
        student = Student.objects.get(pk=student.pk)
        raw = student_raw(student, services.student_snapshot(student))
        raw["phone"] = "13900000001"
        services.student_update(student_id=student.pk, raw=raw, actor=actor)  # other fields: fine
        raw["aux_number"] = "1248100019999"
        with pytest.raises(ApplicationError, match="已由县教育局统一编排并锁定"):
            services.student_update(student_id=student.pk, raw=raw, actor=actor)
        with pytest.raises(ApplicationError, match="已由县教育局统一编排并锁定"):
            services.student_register(raw=valid_row(seq=902, aux_number="123"), actor=actor)
        data = services._validated(valid_row(seq=903, aux_number="1248100018888"))
        with pytest.raises(ApplicationError, match="第7行：小学2024级的学籍辅号"):
            students_create_bulk(rows=[(7, data, [])], actor=actor)
        assert not Student.objects.filter(aux_number__in=["123", "1248100018888"]).exists()
    connection.set_schema_to_public()

    # Locked: the bureau cannot re-apply either, until it unlocks.
    with pytest.raises(ApplicationError, match="已锁定"):
        renumber_apply(user=user, stage="primary", entry_year=YEAR, digest=again.digest)


def test_stale_preview_is_refused(world: World, grade: dict) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.bureau.renumber import renumber_apply, renumber_plan

    user = _user("liuyang")
    plan = renumber_plan(user=user, stage="primary", entry_year=YEAR)
    _add(world.b.schema, "乙后来的", 1, 2)
    with pytest.raises(ApplicationError, match="重新预览"):
        renumber_apply(user=user, stage="primary", entry_year=YEAR, digest=plan.digest)
    assert _aux(world.a.schema, "甲二班二") == "OLD-2"


def test_lock_needs_an_applied_grade_and_unlock_needs_a_reason(world: World, grade: dict) -> None:
    from common.exceptions import ApplicationError
    from shared_apps.bureau.renumber import (
        renumber_apply,
        renumber_lock,
        renumber_plan,
        renumber_unlock,
    )
    from tenant_apps.registry.students import services

    user = _user("liuyang")
    with pytest.raises(ApplicationError, match="尚未编排"):
        renumber_lock(user=user, stage="primary", entry_year=YEAR)
    plan = renumber_plan(user=user, stage="primary", entry_year=YEAR)
    renumber_apply(user=user, stage="primary", entry_year=YEAR, digest=plan.digest)
    with pytest.raises(ApplicationError, match="未锁定"):
        renumber_unlock(user=user, stage="primary", entry_year=YEAR, reason="更正")
    renumber_lock(user=user, stage="primary", entry_year=YEAR)
    with pytest.raises(ApplicationError, match="解锁原因"):
        renumber_unlock(user=user, stage="primary", entry_year=YEAR, reason="  ")
    view = renumber_unlock(user=user, stage="primary", entry_year=YEAR, reason="一名学生班号错误")
    assert (view.state, view.unlock_reason, view.unlocked_by) == (
        "unlocked",
        "一名学生班号错误",
        "liuyang",
    )
    with school_context(world.a.schema):
        assert not services.aux_number_locked("primary", YEAR)
    connection.set_schema_to_public()


def test_the_format_is_pluggable_per_province(world: World, grade: dict) -> None:
    from shared_apps.bureau.renumber import (
        AuxFormat,
        format_for,
        format_register,
        format_unregister,
        renumber_plan,
    )

    def hunan(ctx):
        return f"HN{ctx.county_code}{ctx.entry_year}{ctx.county_serial:05d}"

    format_register("43", AuxFormat("hunan", "湖南测试规则", hunan))
    try:
        assert format_for("430181").key == "hunan"
        assert format_for("110101").key == "example"
        plan = renumber_plan(user=_user("liuyang"), stage="primary", entry_year=YEAR)
        assert [r.new for r in plan.rows][-2:] == ["HN430181202400005", "HN430181202400006"]
    finally:
        format_unregister("43")


def test_page_preview_apply_lock_unlock_with_audit(
    world: World, grade: dict, bureau_host: str
) -> None:
    from accounts.models import AuditEntry

    client = login(bureau_host, "liuyang")
    page = client.get("/bureau/renumber/?stage=primary&entry_year=2024")
    body = page.content.decode()
    assert page.status_code == 200
    assert "1248100010004" in body
    assert "测试乙小学" in body
    assert SENTINEL_STUDENT not in body  # masked
    digest = page.context["plan"].digest
    form = {"stage": "primary", "entry_year": "2024"}
    response = client.post("/bureau/renumber/", {**form, "action": "apply", "digest": digest})
    assert response.status_code == 302
    assert client.post("/bureau/renumber/", {**form, "action": "lock"}).status_code == 302
    refused = client.post("/bureau/renumber/", {**form, "action": "unlock", "reason": ""})
    assert refused.status_code == 400
    assert "请填写解锁原因" in refused.content.decode()
    done = client.post("/bureau/renumber/", {**form, "action": "unlock", "reason": "班号录错"})
    assert done.status_code == 302
    connection.set_schema_to_public()
    entries = list(
        AuditEntry.objects.filter(object_type="aux_numbering")
        .order_by("pk")
        .values_list("object_repr", "after")
    )
    assert [e[0] for e in entries][-3:] == [
        "学籍辅号编排：小学2024级",
        "学籍辅号锁定：小学2024级",
        "学籍辅号解锁：小学2024级",
    ]
    assert entries[-1][1]["reason"] == "班号录错"
    # The API gives the same preview.
    api = client.get("/api/v1/renumber/?stage=primary&entry_year=2024").json()
    assert api["state"] == "unlocked"
    assert len(api["rows"]) == 6


def test_other_county_and_school_users_cannot_renumber(
    world: World, grade: dict, bureau_host: str
) -> None:
    # 宁乡's bureau numbers its own county only: school C, never A or B.
    client = login(bureau_host, "ningxiang")
    body = client.get("/bureau/renumber/?stage=primary&entry_year=2024").content.decode()
    assert "测试丙小学" in body
    assert "测试甲小学" not in body
    # An approver-only bureau account lacks the right; school hosts have no such page.
    assert login(world.a.host, "registrar").get("/bureau/renumber/").status_code == 404
    assert _aux(world.a.schema, "甲二班二") == "OLD-2"
