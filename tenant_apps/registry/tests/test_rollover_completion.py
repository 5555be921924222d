"""结业 (completion without graduation, status 08) in the yearly rollover: the registrar
marks graduating pupils in the dry run with a reason; the run sets them to 结业 and
counts them apart from 毕业; undo restores them exactly; the page and API show it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from common.exceptions import ApplicationError
from conftest import World, login
from tenant_apps.registry.tests.test_rollover import (  # noqa: F401 - the fixture
    ACTOR,
    YEAR,
    _snapshot,
    pupil,
    summer_2026,
)
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def test_marked_pupils_leave_as_completed_and_undo_restores_them(
    world: World,
    summer_2026: dt.date,  # noqa: F811
) -> None:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.lifecycle.rollover import (
        rollover_completion_mark,
        rollover_completion_unmark,
        rollover_plan,
        rollover_run,
        rollover_start,
        rollover_undo,
    )
    from tenant_apps.registry.models import Student, StudentEvent

    with school_context(world.a.schema):
        graduate, completer, other = pupil(1), pupil(2), pupil(3)
        younger = pupil(4, entry_year=2023)
        Student.objects.filter(pk=completer).update(national_number="G430181201310010011")
        Student.objects.filter(pk=other).update(name="林晓")
        # by 全国学籍号 and by exact name; a reason is required; the young one cannot be marked
        rollover_completion_mark(
            school_year=YEAR, query="G430181201310010011", reason="未修完课程", actor=ACTOR
        )
        rollover_completion_mark(school_year=YEAR, query="林晓", reason="考核不合格", actor=ACTOR)
        with pytest.raises(ApplicationError, match="结业原因"):
            rollover_completion_mark(school_year=YEAR, query="林晓", reason=" ", actor=ACTOR)
        young_name = Student.objects.get(pk=younger).name
        with pytest.raises(ApplicationError, match="未找到"):
            rollover_completion_mark(school_year=YEAR, query=young_name, reason="x", actor=ACTOR)
        # changed one's mind about 林晓: graduates after all
        assert rollover_completion_unmark(school_year=YEAR, student_id=other, actor=ACTOR) == 1
        rollover_completion_mark(school_year=YEAR, query="林晓", reason="考核不合格", actor=ACTOR)
        rollover_completion_unmark(school_year=YEAR, student_id=other, actor=ACTOR)

        plan = rollover_plan(school_year=YEAR)
        assert plan.graduate_ids == (graduate, completer, other)
        assert plan.completions == {completer: "未修完课程"}
        assert [(r.student_id, r.reason) for r in plan.completion_rows] == [
            (completer, "未修完课程")
        ]
    before = _snapshot(world.a.schema)
    with school_context(world.a.schema):
        run = rollover_start(school_year=YEAR, actor=ACTOR)
        run = rollover_run(rollover_id=run.pk, actor=ACTOR)
        # 毕业 and 结业 counted apart; promoted: `younger` and the world's pupil of 2024
        assert run.counts == {"graduated": 2, "completed": 1, "promoted": 2, "skipped": 0}
        status = dict(Student.objects.values_list("pk", "status"))
        assert (status[graduate], status[completer], status[other]) == ("07", "08", "07")
        assert status[younger] == "01"
        assert list(
            StudentEvent.objects.filter(action="结业").values_list("student_id", "reason")
        ) == [(completer, "2025–2026学年结业：未修完课程")]
        assert not StudentEvent.objects.filter(student_id=completer, action="毕业").exists()
        # the list is closed once the year has run
        with pytest.raises(ApplicationError, match="不能再修改结业名单"):
            rollover_completion_mark(school_year=YEAR, query="林晓", reason="x", actor=ACTOR)
        uuid = Student.objects.get(pk=completer).identifier
    connection.set_schema_to_public()
    assert IndexEntry.objects.get(student_uuid=uuid).status == "08"
    with school_context(world.a.schema):
        rollover_undo(rollover_id=run.pk, actor=ACTOR)
        assert StudentEvent.objects.filter(action="撤销结业").count() == 1
        assert StudentEvent.objects.filter(action="撤销毕业").count() == 2
    assert _snapshot(world.a.schema) == before


def test_page_marks_completion_and_shows_it_apart(
    world: World,
    summer_2026: dt.date,  # noqa: F811
) -> None:
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        pupil(1)
        completer = pupil(2)
        Student.objects.filter(pk=completer).update(name="欧阳结业")
    connection.set_schema_to_public()
    client = login(world.a.host, "registrar")
    response = client.post(
        "/registry/rollover/",
        {"action": "complete", "school_year": YEAR, "query": "欧阳结业", "reason": "未修完课程"},
    )
    assert response.status_code == 302
    body = client.get(f"/registry/rollover/?school_year={YEAR}").content.decode()
    assert "欧**业" in body
    assert "未修完课程" in body
    assert "欧阳结业" not in body  # masked, as every name on this page
    api = client.get(f"/api/v1/rollover/?school_year={YEAR}").json()
    assert (api["graduating"], api["completing"]) == (1, 1)
    assert [(c["student_id"], c["reason"]) for c in api["completions"]] == [
        (completer, "未修完课程")
    ]
    refused = client.post(
        "/api/v1/rollover/",
        {"action": "complete", "school_year": YEAR, "query": "无此人", "reason": "x"},
        content_type="application/json",
    )
    assert refused.status_code == 400 or refused.status_code == 404
