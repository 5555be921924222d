"""accounts.people: every shape an actor is stored in reads "school · name（staff number）"."""

from __future__ import annotations

from django.db import connection

from accounts.people import people_labels
from conftest import World
from tenants.context import school_context


def test_every_stored_shape_reads_as_a_person(world: World, db: None) -> None:
    a, b = world.a, world.b
    stored = [
        f"registrar@{a.schema}",  # cases, backups, applications
        "liuyang@public",  # a bureau officer
        "op@public",  # the platform operator (no region)
        f"{a.name}approver（approver）",  # common.actor.Actor.label, in school A
        "甲（A1）（测试乙小学）",  # history copied by a transfer from school B
        "teacher",  # a bare username of school A
        "浏阳学籍（liuyang）",  # a county decision written into school A's history
        "",
        f"{b.name} · 某人（B1）",  # already readable
        "system@public",  # an automatic step
        "liuyang（liuyang）",  # a label made without the name
    ]
    # when: shown on school A's host
    with school_context(a.schema):
        shown = people_labels(stored)
    connection.set_schema_to_public()
    # then
    assert shown == {
        f"registrar@{a.schema}": f"{a.name} · {a.name}registrar（registrar）",
        "liuyang@public": "浏阳市教育局 · 浏阳学籍（liuyang）",
        "op@public": "平台 · 平台运营（op）",
        f"{a.name}approver（approver）": f"{a.name} · {a.name}approver（approver）",
        "甲（A1）（测试乙小学）": "测试乙小学 · 甲（A1）",
        "teacher": f"{a.name} · {a.name}teacher（teacher）",
        "浏阳学籍（liuyang）": "浏阳市教育局 · 浏阳学籍（liuyang）",
        "": "—",
        f"{b.name} · 某人（B1）": f"{b.name} · 某人（B1）",
        "system@public": "系统",
        "liuyang（liuyang）": "浏阳市教育局 · 浏阳学籍（liuyang）",
    }
