"""Yearly rollover (升级/毕业, domain.md §3.8): the dry run lists exactly who is blocked
and why, the run graduates the top grade and promotes the others (as a job), undo
restores students and index exactly, confirm is final, and the page's rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from common.actor import Actor
from conftest import World, login
from tenant_apps.registry.tests.factories import resident_id, valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db

YEAR = 2025  # the school year 2025–2026: primary pupils who entered in 2020 graduate
ACTOR = Actor(username="registrar", name="学籍管理员", schema="")
IN_WINDOW = dt.date(2026, 7, 15)  # inside 2025–2026's window (1 July – 31 August 2026)


@pytest.fixture
def summer_2026(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """The school's clock set to 15 July 2026, when YEAR's rollover may run."""
    from tenant_apps.registry.lifecycle import rollover

    monkeypatch.setattr(rollover, "_today", lambda: IN_WINDOW)
    return IN_WINDOW


def _class(stage: str, entry_year: int, number: int = 1) -> int:
    from tenant_apps.registry.models import SchoolClass

    klass, _ = SchoolClass.objects.get_or_create(
        stage=stage,
        entry_year=entry_year,
        number=number,
        defaults={"class_no": SchoolClass.make_class_no(stage, entry_year, number)},
    )
    return klass.pk


def pupil(seq: int, entry_year: int = 2020, *, state: str = "registered", **extra: object) -> int:
    """A complete primary pupil of class <entry_year>101 (every required field), written
    through registration; call inside the school's context."""
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students import services

    _class("primary", entry_year)
    birth = dt.date(entry_year - 7, 10, 1) + dt.timedelta(days=seq % 200)
    serial = 2 * (seq // 200) + (1 if seq % 2 == 0 else 0)
    row = valid_row(
        seq,
        class_no=f"{entry_year}101",
        grade=f"小学{entry_year}级",
        entry_year_month=f"{entry_year}09",
        birth_date=f"{birth:%Y%m%d}",
        id_number=resident_id(birth, serial),
        id_validity="20200101-20991231",
    )
    student = services.student_register(raw=row, actor=ACTOR)
    Student.objects.filter(pk=student.pk).update(audit_state=state, **extra)
    return student.pk


def _snapshot(schema: str) -> dict[str, object]:
    """Every student row and its index entry, every column (last-change times too)."""
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import Student

    with school_context(schema):
        rows = {s["id"]: s for s in Student.objects.values()}
        uuids = [r["identifier"] for r in rows.values()]
    connection.set_schema_to_public()
    index = {
        e["student_uuid"]: e for e in IndexEntry.objects.filter(student_uuid__in=uuids).values()
    }
    return {"students": rows, "index": index}


def test_dry_run_lists_every_blocker_with_what_to_do(world: World, summer_2026: dt.date) -> None:
    from shared_apps.transfers.services import case_open
    from tenant_apps.registry.lifecycle.rollover import rollover_plan
    from tenant_apps.registry.models import ProblemRecord, Student

    with school_context(world.a.schema):
        ok = pupil(1)
        problem = pupil(2)
        ProblemRecord.objects.create(student_id=problem, kind="suspected")
        draft = pupil(3, state="draft")
        suspended = pupil(4, status="02")
        missing = pupil(5, household_region="", phone="")
        busy = pupil(6)
        busy_uuid = Student.objects.get(pk=busy).identifier
        younger = pupil(7, entry_year=2022)
    connection.set_schema_to_public()
    case_open(
        kind="SUSPEND",
        school_id=world.a.id,
        student_uuid=busy_uuid,
        summary={"name": "测*"},
        chain=[{"owner": "school", "school_id": world.a.id, "label": "学校审核"}],
        created_by="registrar@a",
    )
    with school_context(world.a.schema):
        plan = rollover_plan(school_year=YEAR)
        found = {(b.student_id, b.code) for b in plan.blockers}
        assert found == {
            (problem, "problem_record"),
            (draft, "not_registered"),
            (missing, "missing_data"),
            (busy, "pending_business"),
        }
        by_code = {b.code: b for b in plan.blockers}
        assert "户口所在地" in by_code["missing_data"].message
        assert "问题学籍" in by_code["problem_record"].advice
        assert [(s.student_id, s.code) for s in plan.skipped] == [(suspended, "not_in_school")]
        assert plan.graduate_ids == (ok,)
        assert younger in {p[0] for p in plan.promote}
        assert {p[0]: p[1:] for p in plan.promote}[younger] == ("四年级", "五年级")
        assert not plan.can_run
        # The run refuses while anything blocks, and writes nothing.
        from common.exceptions import ApplicationError
        from tenant_apps.registry.lifecycle.rollover import rollover_start

        with pytest.raises(ApplicationError, match="还有 4 名毕业年级学生"):
            rollover_start(school_year=YEAR, actor=ACTOR)
        assert Student.objects.get(pk=ok).status == "01"
    connection.set_schema_to_public()


def test_dry_run_reads_blockers_set_based_not_per_student(world: World) -> None:
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    from tenant_apps.registry.lifecycle.rollover import rollover_plan

    def queries() -> int:
        with CaptureQueriesContext(conn) as captured:
            rollover_plan(school_year=YEAR)
        return len(captured)

    with school_context(world.a.schema):
        for seq in range(1, 4):
            pupil(seq)
        few = queries()
        for seq in range(4, 14):
            pupil(seq)
        many = queries()
        assert len(rollover_plan(school_year=YEAR).graduate_ids) == 13
    connection.set_schema_to_public()
    assert many == few, f"{few} queries for 3 graduates, {many} for 13"


def test_run_graduates_the_top_grade_promotes_the_rest_and_undo_restores_exactly(
    world: World, summer_2026: dt.date
) -> None:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.lifecycle.rollover import (
        rollover_confirm,
        rollover_run,
        rollover_start,
        rollover_undo,
    )
    from tenant_apps.registry.models import Student, StudentEvent
    from tenant_apps.registry.models.lifecycle import Rollover

    with school_context(world.a.schema):
        graduates = [pupil(11), pupil(12)]
        suspended = pupil(13, status="02")
        younger = pupil(14, entry_year=2023)
        newcomer = pupil(15, entry_year=2026)  # registered for 2026–2027: not part of 2025
        sentinel = Student.objects.get(number_in_class=1, school_class__class_no="2024101").pk
    before = _snapshot(world.a.schema)
    with school_context(world.a.schema):
        run = rollover_start(school_year=YEAR, actor=ACTOR)
        seen: list[int] = []
        run = rollover_run(rollover_id=run.pk, actor=ACTOR, progress=lambda p, _m: seen.append(p))
        assert seen[-1] == 100
        assert run.state == "applied"
        assert run.counts == {"graduated": 2, "promoted": 2, "skipped": 1}
        status = dict(Student.objects.values_list("pk", "status"))
        assert [status[g] for g in graduates] == ["07", "07"]
        assert status[suspended] == "02"
        assert status[younger] == "01"
        assert status[newcomer] == "01"
        events = StudentEvent.objects.filter(action__in=["毕业", "升级"])
        assert sorted(events.values_list("student_id", "action")) == sorted(
            [(graduates[0], "毕业"), (graduates[1], "毕业"), (younger, "升级"), (sentinel, "升级")]
        )
        assert events.get(student_id=younger).changes == {"grade": ["三年级", "四年级"]}
        uuid = Student.objects.get(pk=graduates[0]).identifier
    connection.set_schema_to_public()
    # Graduates stay findable in the index, with their new status.
    assert IndexEntry.objects.get(student_uuid=uuid).status == "07"

    with school_context(world.a.schema):
        rollover_undo(rollover_id=run.pk, actor=ACTOR)
        assert StudentEvent.objects.filter(action="撤销毕业").count() == 2
    assert _snapshot(world.a.schema) == before

    # Run again, confirm: final, no undo afterwards.
    with school_context(world.a.schema):
        again = rollover_start(school_year=YEAR, actor=ACTOR)
        rollover_run(rollover_id=again.pk, actor=ACTOR)
        rollover_confirm(rollover_id=again.pk, actor=ACTOR)
        from common.exceptions import ApplicationError

        with pytest.raises(ApplicationError, match="不能撤销"):
            rollover_undo(rollover_id=again.pk, actor=ACTOR)
        with pytest.raises(ApplicationError, match="已办理过升级与毕业"):
            rollover_start(school_year=YEAR, actor=ACTOR)
        assert Rollover.objects.get(pk=again.pk).state == "confirmed"
        assert Student.objects.get(pk=graduates[0]).status == "07"
    connection.set_schema_to_public()


def test_undo_is_refused_when_a_graduate_has_moved_on(world: World, summer_2026: dt.date) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.lifecycle.rollover import rollover_run, rollover_start, rollover_undo
    from tenant_apps.registry.models import Student

    with school_context(world.a.schema):
        first = pupil(21)
        run = rollover_start(school_year=YEAR, actor=ACTOR)
        rollover_run(rollover_id=run.pk, actor=ACTOR)
        Student.objects.filter(pk=first).update(status="10")  # taken by a junior school
        with pytest.raises(ApplicationError, match="毕业后已有变动"):
            rollover_undo(rollover_id=run.pk, actor=ACTOR)
        assert Student.objects.get(pk=first).status == "10"
    connection.set_schema_to_public()


def test_a_school_year_that_has_not_ended_cannot_be_rolled_over(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.lifecycle.rollover import default_school_year, rollover_start

    # The page opens on the coming transition: the current school year's end.
    assert default_school_year(dt.date(2026, 6, 30)) == 2025
    assert default_school_year(dt.date(2026, 8, 31)) == 2025
    assert default_school_year(dt.date(2026, 9, 1)) == 2026
    assert default_school_year(dt.date(2026, 12, 6)) == 2026
    with school_context(world.a.schema), pytest.raises(ApplicationError, match="尚未结束"):
        rollover_start(school_year=2026, actor=ACTOR, today=dt.date(2027, 6, 30))
    connection.set_schema_to_public()


def test_page_runs_the_job_then_confirm(world: World, summer_2026: dt.date) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.models.lifecycle import Rollover
    from tenant_apps.registry.tasks import rollover_run_task

    with school_context(world.a.schema):
        graduate = pupil(31)
    connection.set_schema_to_public()
    client = login(world.a.host, "registrar")
    page = client.get(f"/registry/rollover/?school_year={YEAR}")
    assert page.status_code == 200
    assert "执行升级与毕业" in page.content.decode()
    response = client.post("/registry/rollover/", {"action": "run", "school_year": YEAR})
    assert response.status_code == 302
    with school_context(world.a.schema):
        run = Rollover.objects.get(school_year=YEAR)
        assert run.state == "running"
        # What the worker does once the request has committed:
        rollover_run_task(
            run.pk,
            str(run.job_id),
            {"username": "registrar", "name": "学籍管理员", "schema": world.a.schema},
        )
    connection.set_schema_to_public()
    job = Job.objects.get(pk=run.job_id)  # type: ignore[misc]
    assert (job.state, job.percent) == ("succeeded", 100)
    assert "毕业 1 人" in job.message
    body = client.get("/registry/rollover/").content.decode()
    assert "已执行，待确认" in body
    response = client.post(
        "/registry/rollover/", {"action": "confirm", "rollover_id": run.pk, "school_year": YEAR}
    )
    assert response.status_code == 302
    # the finished job now says what was done, no longer what to do next
    job.refresh_from_db()
    assert job.message.startswith("2025–2026学年升级与毕业已确认：毕业 1 人"), job.message
    assert "请核对后确认" not in job.message
    with school_context(world.a.schema):
        assert Rollover.objects.get(pk=run.pk).state == "confirmed"
        from tenant_apps.registry.models import Student

        assert Student.objects.get(pk=graduate).status == "07"
    connection.set_schema_to_public()
    # A class teacher may not run it; school B's rollover knows nothing of A's.
    assert login(world.a.host, "teacher").get("/registry/rollover/").status_code == 403
    with school_context(world.b.schema):
        assert not Rollover.objects.exists()
    connection.set_schema_to_public()


def test_each_school_year_states_its_dates_and_refuses_a_past_transition(world: World) -> None:
    from common.exceptions import ApplicationError
    from tenant_apps.registry.lifecycle.rollover import rollover_start, window

    dates = window(2025, today=dt.date(2026, 6, 30))
    assert (dates.starts, dates.ends) == (dt.date(2025, 9, 1), dt.date(2026, 8, 31))
    assert (dates.opens, dates.closes) == (dt.date(2026, 7, 1), dt.date(2026, 8, 31))
    assert dates.state == "early"
    assert window(2025, today=dt.date(2026, 7, 1)).state == "open"
    assert window(2025, today=dt.date(2026, 8, 31)).state == "open"
    assert window(2025, today=dt.date(2026, 9, 1)).state == "past"
    with school_context(world.a.schema):
        pupil(41)
        with pytest.raises(ApplicationError, match="办理期已过"):
            rollover_start(school_year=YEAR, actor=ACTOR, today=dt.date(2026, 9, 1))
    connection.set_schema_to_public()


def test_the_page_opens_on_the_coming_transition_with_no_live_button_before_or_after(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenant_apps.registry.lifecycle import rollover
    from tenant_apps.registry.models.lifecycle import Rollover

    monkeypatch.setattr(rollover, "_today", lambda: dt.date(2026, 12, 6))
    with school_context(world.a.schema):
        pupil(51, entry_year=2021)  # graduates at the end of 2026–2027
        pupil(52, entry_year=2020)  # graduated at the end of 2025–2026
    connection.set_schema_to_public()
    client = login(world.a.host, "registrar")
    # given 6 December 2026: the current school year 2026–2027 is the coming transition
    body = client.get("/registry/rollover/").content.decode()
    connection.set_schema_to_public()
    assert "2026–2027学年 · 预检" in body
    assert "2026-09-01 — 2027-08-31" in body  # the school year
    assert "2027-07-01 — 2027-08-31" in body  # the days it may run
    assert "data-rollover-early" in body
    assert "2027-07-01 起才能执行" in body
    assert 'value="run"' not in body
    # the API says the same
    api = client.get("/api/v1/rollover/").json()
    connection.set_schema_to_public()
    assert api["school_year"] == 2026
    assert api["window"] == {
        "starts": "2026-09-01",
        "ends": "2027-08-31",
        "opens": "2027-07-01",
        "closes": "2027-08-31",
        "state": "early",
    }
    assert api["can_run"] is False
    # the year just ended: past, stated, and no button either
    past = client.get(f"/registry/rollover/?school_year={YEAR}").content.decode()
    connection.set_schema_to_public()
    assert "2025–2026学年 · 预检" in past
    assert "data-rollover-past" in past
    assert "该学年已于 2026-08-31 结束，办理期已过" in past
    assert 'value="run"' not in past
    # and a run sent anyway is refused with the reason, nothing recorded
    refused = client.post("/registry/rollover/", {"action": "run", "school_year": YEAR})
    connection.set_schema_to_public()
    assert refused.status_code == 400
    assert "办理期已过" in refused.content.decode()
    with school_context(world.a.schema):
        assert not Rollover.objects.exists()
    connection.set_schema_to_public()
    # in the window the same page offers the run
    monkeypatch.setattr(rollover, "_today", lambda: IN_WINDOW)
    open_page = client.get(f"/registry/rollover/?school_year={YEAR}").content.decode()
    connection.set_schema_to_public()
    assert 'value="run"' in open_page
    assert "办理期至 2026-08-31" in open_page


def test_run_progress_moves_with_the_work_and_the_last_report_says_what_was_done(
    world: World, summer_2026: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenant_apps.registry.lifecycle import rollover

    monkeypatch.setattr(rollover, "ITEM_BATCH", 2)  # several batches from a few pupils
    with school_context(world.a.schema):
        for seq in range(61, 64):
            pupil(seq)
        for seq in range(64, 67):
            pupil(seq, entry_year=2023)
        run = rollover.rollover_start(school_year=YEAR, actor=ACTOR)
        seen: list[tuple[int, str]] = []
        done = rollover.rollover_run(
            rollover_id=run.pk, actor=ACTOR, progress=lambda p, m: seen.append((p, m))
        )
    connection.set_schema_to_public()
    percents = [p for p, _ in seen]
    items = done.counts["graduated"] + done.counts["promoted"]
    assert percents == sorted(percents), percents
    assert percents[0] == 5
    assert percents[-1] == 100
    # one report per batch of items, then per grade step, between 20 % and 100 %
    between = [p for p in percents if 20 < p < 100]
    assert len(between) >= -(-items // 2) + 2, seen
    assert f"已记录 2/{items} 名学生的升级与毕业" in [m for _, m in seen]
    assert any(m.startswith("已写入升级记录：三年级 → 四年级") for _, m in seen)
    assert seen[-1][1] == (
        f"已完成：毕业 {done.counts['graduated']} 人，升级 {done.counts['promoted']} 人。"
    )


def test_an_undone_run_job_says_it_was_undone(world: World, summer_2026: dt.date) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.models.lifecycle import Rollover
    from tenant_apps.registry.tasks import rollover_run_task

    with school_context(world.a.schema):
        pupil(71)
    connection.set_schema_to_public()
    client = login(world.a.host, "registrar")
    assert client.post("/registry/rollover/", {"action": "run", "school_year": YEAR}).status_code
    with school_context(world.a.schema):
        run = Rollover.objects.get(school_year=YEAR)
        rollover_run_task(
            run.pk,
            str(run.job_id),
            {"username": "registrar", "name": "学籍管理员", "schema": world.a.schema},
        )
    connection.set_schema_to_public()
    job = Job.objects.get(pk=run.job_id)  # type: ignore[misc]
    assert "请核对后确认" in job.message
    undone = client.post(
        "/registry/rollover/", {"action": "undo", "rollover_id": run.pk, "school_year": YEAR}
    )
    connection.set_schema_to_public()
    assert undone.status_code == 302
    job.refresh_from_db()
    assert job.message.startswith("2025–2026学年升级与毕业已撤销：1 名毕业生已恢复原状态")
    assert "请核对后确认" not in job.message


def test_the_nightly_warm_up_leaves_the_page_nothing_to_validate(
    world: World, summer_2026: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    """registry.rollover_page_warm (beat, 03:45, per school) makes the graduates'
    required-field answers ahead: the next view of the page validates no record."""
    from django.conf import settings

    from tenant_apps.registry.tasks import rollover_page_warm_task
    from tenant_apps.registry.validation.rows import RowValidator

    with school_context(world.a.schema):
        for seq in range(3):
            pupil(14000 + seq, entry_year=2020)  # class 2020101 graduates in 2026
        validated: list[int] = []
        real = RowValidator.validate

        def counting(self, raw):
            validated.append(1)
            return real(self, raw)

        monkeypatch.setattr(RowValidator, "validate", counting)
        assert rollover_page_warm_task() >= 3
        warmed = len(validated)
        assert warmed >= 3
    connection.set_schema_to_public()
    page = login(world.a.host, "registrar").get("/registry/rollover/")
    connection.set_schema_to_public()
    assert page.status_code == 200
    assert len(validated) == warmed, "the page validated records the warm-up had checked"
    schedule = settings.CELERY_BEAT_SCHEDULE["rollover-page-warm"]
    assert schedule["args"] == ["registry.rollover_page_warm"]
