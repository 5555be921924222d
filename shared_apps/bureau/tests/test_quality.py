"""数据质量 (issue 16 point 3): every figure of one school on a fixture whose answers are
counted by hand below, the public table after a refresh and the sweep that finds a changed
school, the 人籍一致 deadline flagging, the lists (masked, oldest first) and their Excel,
the API, and a county officer seeing nothing of another county's school."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass

import pytest
from django.db import connection
from django.utils import timezone

from common.actor import Actor
from common.masking import mask_name
from conftest import World, login
from tenant_apps.registry.tests.factories import resident_id, valid_row
from tenants.context import school_context

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")


@dataclass(frozen=True)
class Fixture:
    now: dt.datetime
    names: dict[str, str]  # fixture key -> full name (never shown to the bureau)
    classes: dict[str, int]


def _class(entry_year: int) -> int:
    from tenant_apps.registry.models import SchoolClass

    klass, _ = SchoolClass.objects.get_or_create(
        stage="primary",
        entry_year=entry_year,
        number=1,
        defaults={"class_no": SchoolClass.make_class_no("primary", entry_year, 1)},
    )
    return klass.pk


def _pupil(
    seq: int, entry_year: int, *, state: str = "registered", **extra: object
) -> tuple[int, str]:
    """A complete pupil (every required field) registered through the service, then put
    in `state` with `extra` columns; a G number unless `extra` says otherwise."""
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students import services

    birth = dt.date(entry_year - 7, 10, 1) + dt.timedelta(days=seq % 200)
    serial = 2 * (seq // 200) + (1 if seq % 2 == 0 else 0)
    id_number = resident_id(birth, serial)
    row = valid_row(
        seq,
        class_no=f"{entry_year}101",
        grade=f"小学{entry_year}级",
        entry_year_month=f"{entry_year}09",
        birth_date=f"{birth:%Y%m%d}",
        id_number=id_number,
        id_validity="20200101-20991231",
    )
    student = services.student_register(raw=row, actor=ACTOR)
    values: dict[str, object] = {"audit_state": state, "national_number": f"G{id_number}"}
    values.update(extra)
    Student.objects.filter(pk=student.pk).update(**values)
    return student.pk, student.name


def _entered(pk: int, state: str, at: dt.datetime) -> None:
    from tenant_apps.registry.models import StudentEvent

    event = StudentEvent.objects.create(student_id=pk, actor="x", action="提交", to_state=state)
    StudentEvent.objects.filter(pk=event.pk).update(at=at)


def _build(world: World) -> Fixture:
    """School A, emptied of the session's pupil, then (hand count in the test below):

    class 2020101: p1 registered, G number; p2 registered, L number; p3 待学校审核 since 10
      days; p4 待教育局审核 since 2 days; p5 待教育局审核 since 40 days; p6 draft entered 45
      days ago; p7 draft entered 3 days ago; p8 问题学籍 open since 5 days; p9 draft whose
      problem was resolved; p10 registered without ID number; p11 registered without
      household region; p12 deleted; p13 registered on leave (休学) without ID number.
    class 2021101: p14 registered, confirmed this term.
    class 2022101: p15 registered, confirmed last term only.
    Cases: A applies, 3 days overdue; A sends, 20 days overdue; A applies, due tomorrow;
      A applies, closed and past due.
    """
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.classes.roster import roster_term
    from tenant_apps.registry.models import ProblemRecord, RosterCheck, Student

    now = timezone.now()
    day = dt.timedelta(days=1)
    names: dict[str, str] = {}
    with school_context(world.a.schema):
        Student.objects.all().delete()
        classes = {str(y): _class(y) for y in (2020, 2021, 2022)}
        pk = {}
        spec: list[tuple[str, int, int, dict[str, object]]] = [
            ("p1", 1, 2020, {}),
            ("p2", 2, 2020, {"national_number": "L430181201310030001"}),
            ("p3", 3, 2020, {"state": "school_pending"}),
            ("p4", 4, 2020, {"state": "county_pending"}),
            ("p5", 5, 2020, {"state": "county_pending"}),
            ("p6", 6, 2020, {"state": "draft"}),
            ("p7", 7, 2020, {"state": "draft"}),
            ("p8", 8, 2020, {"state": "problem"}),
            ("p9", 9, 2020, {"state": "draft"}),
            ("p10", 10, 2020, {"id_number": ""}),
            ("p11", 11, 2020, {"household_region": ""}),
            ("p12", 12, 2020, {"state": "deleted", "deleted_reason": "重复注册"}),
            ("p13", 13, 2020, {"status": "02", "id_number": ""}),
            ("p14", 14, 2021, {}),
            ("p15", 15, 2022, {}),
        ]
        for key, seq, year, extra in spec:
            extra = dict(extra)
            state = str(extra.pop("state", "registered"))
            pk[key], names[key] = _pupil(seq, year, state=state, **extra)
        _entered(pk["p3"], "school_pending", now - 10 * day)
        _entered(pk["p4"], "county_pending", now - 2 * day)
        _entered(pk["p5"], "county_pending", now - 40 * day)
        Student.objects.filter(pk=pk["p6"]).update(created_at=now - 45 * day)
        Student.objects.filter(pk=pk["p7"]).update(created_at=now - 3 * day)
        problem = ProblemRecord.objects.create(student_id=pk["p8"], kind="suspected")
        ProblemRecord.objects.filter(pk=problem.pk).update(created_at=now - 5 * day)
        ProblemRecord.objects.create(student_id=pk["p9"], kind="suspected", state="resolved")
        term = roster_term()
        RosterCheck.objects.create(
            school_class_id=classes["2021"],
            school_year=term.school_year,
            term=term.term,
            confirmed_by="teacher",
        )
        start = int(term.school_year[:4])
        last = (f"{start - 1}-{start}", 2) if term.term == 1 else (term.school_year, 1)
        RosterCheck.objects.create(
            school_class_id=classes["2022"],
            school_year=last[0],
            term=last[1],
            confirmed_by="teacher",
        )
    connection.set_schema_to_public()
    today = timezone.localdate()
    for n, (field, due, state) in enumerate(
        [
            ("school_id", today - 3 * day, "open"),
            ("other_school_id", today - 20 * day, "open"),
            ("school_id", today + day, "open"),
            ("school_id", today - 9 * day, "done"),
        ]
    ):
        other = world.b.id if field == "school_id" else world.a.id
        Case.objects.create(
            number=f"QT{n}",
            kind="TRANSFER",
            school_id=world.a.id if field == "school_id" else world.b.id,
            other_school_id=other if field == "other_school_id" else None,
            student_uuid=uuid.uuid4(),
            summary={"name": "张*", "class": "小学2020级(01)班"},
            chain=[{"owner": "bureau", "owner_name": "浏阳市教育局", "region": "430181000000"}],
            state=state,
            due_on=due,
            created_by="x",
        )
    return Fixture(now=now, names=names, classes=classes)


EXPECTED = {
    # figure: (count, bands 0–7 / 8–30 / 31+, oldest in days or None)
    "school_pending": (1, (0, 1, 0), 10),  # p3
    "county_pending": (2, (1, 0, 1), 40),  # p4, p5
    "problem_open": (1, (1, 0, 0), 5),  # p8 (p9's problem is resolved)
    "no_id": (1, (0, 0, 0), None),  # p10 (p13 is on leave, p12 deleted)
    "temporary_number": (1, (0, 0, 0), None),  # p2
    "overdue_cases": (2, (1, 1, 0), 20),  # 3 and 20 days past; not the future, not the closed
    "stale_drafts": (1, (0, 0, 1), 45),  # p6 (p7 and p9 are recent)
    "missing_required": (2, (0, 0, 0), None),  # p10 (ID number), p11 (household region)
    "deleted": (1, (0, 0, 0), None),  # p12
    "roster_missing": (2, (0, 0, 0), None),  # 2020101, 2022101 (2021101 confirmed)
}


def _days(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    return (timezone.localdate() - timezone.localtime(value).date()).days


@pytest.mark.parametrize(("deadline_offset", "overdue"), [(None, 0), (-1, 2), (0, 0), (1, 0)])
def test_every_figure_on_the_fixture(
    world: World, deadline_offset: int | None, overdue: int
) -> None:
    from tenant_apps.registry.facade import FIGURES, school_quality

    fx = _build(world)
    deadline = (
        None
        if deadline_offset is None
        else timezone.localdate() + dt.timedelta(days=deadline_offset)
    )
    values = {
        v.key: v
        for v in school_quality(
            schema_name=world.a.schema, school_id=world.a.id, roster_deadline=deadline, now=fx.now
        )
    }
    assert [f.key for f in FIGURES] == list(values)
    for key, (count, bands, oldest) in EXPECTED.items():
        v = values[key]
        assert (v.count, v.bands, _days(v.oldest_at)) == (count, bands, oldest), key
    # Classes not confirmed are overdue only once the deadline's day has passed.
    assert values["roster_overdue"].count == overdue


def test_lists_are_masked_oldest_first_and_name_the_class(world: World) -> None:
    from tenant_apps.registry.facade import quality_items

    fx = _build(world)
    page = quality_items(schema_name=world.a.schema, school_id=world.a.id, figure="county_pending")
    assert page.total == 2
    assert [i.age_days for i in page.items] == [40, 2]
    full = fx.names["p5"]
    assert page.items[0].name == mask_name(full) != full
    assert all(i.class_name == "小学2020级(01)班" for i in page.items)
    cases = quality_items(schema_name=world.a.schema, school_id=world.a.id, figure="overdue_cases")
    assert [(i.ref, i.age_days) for i in cases.items] == [("QT1", 20), ("QT0", 3)]
    classes = quality_items(
        schema_name=world.a.schema, school_id=world.a.id, figure="roster_missing"
    )
    assert [i.class_name for i in classes.items] == ["小学2020级(01)班", "小学2022级(01)班"]
    second = quality_items(
        schema_name=world.a.schema, school_id=world.a.id, figure="county_pending", offset=1, limit=1
    )
    assert (second.total, [i.age_days for i in second.items]) == (2, [2])


def test_refresh_fills_the_public_table_and_the_sweep_finds_changed_schools(world: World) -> None:
    from shared_apps.bureau.models import QualityRefresh, SchoolQuality
    from shared_apps.bureau.quality.services import quality_refresh, stale_schools
    from shared_apps.transfers.models import Case

    _build(world)
    assert world.a.id in stale_schools()  # never refreshed
    quality_refresh(school_id=world.a.id)
    stored = {q.figure: q for q in SchoolQuality.objects.filter(school_id=world.a.id)}
    for key, (count, bands, oldest) in EXPECTED.items():
        assert stored[key].count == count, key
        assert tuple(stored[key].bands) == bands, key
        assert _days(stored[key].oldest_at) == oldest, key
    # The 必填项缺失 list keeps its records' ids (opaque uuids), never names.
    assert len(stored["missing_required"].item_ids) == 2
    assert QualityRefresh.objects.filter(school_id=world.a.id).exists()
    assert world.a.id not in stale_schools()
    # A write that moves one of the school's public traces makes it stale again.
    Case.objects.filter(number="QT2").update(state="withdrawn", updated_at=timezone.now())
    assert world.a.id in stale_schools()


def test_a_registration_is_picked_up_by_the_sweep(world: World) -> None:
    from shared_apps.bureau.models import SchoolQuality
    from shared_apps.bureau.quality.services import quality_refresh, stale_schools

    _build(world)
    quality_refresh(school_id=world.a.id)
    with school_context(world.a.schema):
        _pupil(30, 2020, state="county_pending")
    connection.set_schema_to_public()
    assert world.a.id in stale_schools()
    quality_refresh(school_id=world.a.id)
    assert SchoolQuality.objects.get(school_id=world.a.id, figure="county_pending").count == 3
    assert world.a.id not in stale_schools()


def test_pages_rank_link_and_list_over_the_officers_region_only(
    world: World, bureau_host: str
) -> None:
    from shared_apps.bureau.quality.services import quality_refresh

    fx = _build(world)
    for school in (world.a, world.b, world.c):
        quality_refresh(school_id=school.id)
    own = login(bureau_host, world.bureau_user)
    home = own.get("/bureau/quality/")
    text = home.content.decode()
    assert home.status_code == 200
    assert world.a.name in text
    assert world.b.name in text
    assert world.c.name not in text
    # A (lots to do) is ranked before B.
    assert text.index(world.a.name) < text.index(world.b.name)
    assert f"/bureau/quality/schools/{world.a.id}/county_pending/" in text
    listing = own.get(f"/bureau/quality/schools/{world.a.id}/county_pending/")
    body = listing.content.decode()
    assert listing.status_code == 200
    assert fx.names["p5"] not in body
    assert fx.names["p4"] not in body
    assert "小学2020级(01)班" in body
    assert body.index(mask_name(fx.names["p5"])) < body.index(mask_name(fx.names["p4"]))
    export = own.get(f"/bureau/quality/schools/{world.a.id}/county_pending/export/")
    assert export.status_code == 200
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(export.content))
    ws = book[book.sheetnames[0]]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[2] == ["序号", "姓名", "班级", "起始日期", "时长（天）", "说明"]
    assert [r[4] for r in rows[3:]] == [40, 2]
    assert all(fx.names["p5"] != r[1] for r in rows[3:])
    api = own.get(f"/api/v1/quality/schools/{world.a.id}/county_pending/")
    assert api.status_code == 200
    assert api.json()["count"] == 2
    ranking = own.get("/api/v1/quality/").json()
    assert [r["school_id"] for r in ranking][:1] == [world.a.id]
    assert world.c.id not in {r["school_id"] for r in ranking}

    other = login(bureau_host, world.other_bureau_user)
    assert world.a.name not in other.get("/bureau/quality/").content.decode()
    for path in (
        f"/bureau/quality/schools/{world.a.id}/",
        f"/bureau/quality/schools/{world.a.id}/county_pending/",
        f"/bureau/quality/schools/{world.a.id}/county_pending/export/",
        f"/api/v1/quality/schools/{world.a.id}/county_pending/",
    ):
        assert other.get(path).status_code == 404, path
    assert world.a.id not in {r["school_id"] for r in other.get("/api/v1/quality/").json()}


def test_the_county_sets_a_deadline_and_late_classes_are_flagged(
    world: World, bureau_host: str, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from shared_apps.bureau.models import RosterDeadline, SchoolQuality
    from shared_apps.bureau.quality.selectors import current_term
    from shared_apps.bureau.quality.services import quality_refresh

    _build(world)
    term = current_term()
    start = int(term.school_year[:4])
    first_day = dt.date(start, 9, 1) if term.term == 1 else dt.date(start + 1, 2, 1)
    own = login(bureau_host, world.bureau_user)
    # Outside the term: refused with a Chinese message, nothing stored.
    bad = own.post(
        "/bureau/quality/deadlines/set/",
        {"county": "430181", "term": term.value, "deadline": "2000-01-01"},
    )
    assert bad.status_code == 400
    assert "截止日期应在该学期之内" in bad.content.decode()
    # Another county's officer cannot set 浏阳's deadline.
    other = login(bureau_host, world.other_bureau_user)
    refused = other.post(
        "/bureau/quality/deadlines/set/",
        {"county": "430181", "term": term.value, "deadline": first_day.isoformat()},
    )
    assert refused.status_code == 400
    assert "请选择辖区内的区县" in refused.content.decode()
    assert not RosterDeadline.objects.exists()
    queued: list[int] = []
    monkeypatch.setattr(
        "shared_apps.bureau.quality.services.quality_refresh_queue",
        lambda ids: queued.extend(ids),
    )
    with django_capture_on_commit_callbacks(execute=True):
        ok = own.post(
            "/bureau/quality/deadlines/set/",
            {"county": "430181", "term": term.value, "deadline": first_day.isoformat()},
        )
    assert ok.status_code == 302
    row = RosterDeadline.objects.get()
    assert (row.county_id, row.school_year, row.term, row.deadline) == (
        "430181000000",
        term.school_year,
        term.term,
        first_day,
    )
    # The county's schools (A and B, not 宁乡's C) are refreshed once it commits.
    assert sorted(queued) == sorted([world.a.id, world.b.id])
    quality_refresh(school_id=world.a.id)
    late = SchoolQuality.objects.get(school_id=world.a.id, figure="roster_overdue").count
    # The deadline is the term's first day: passed unless the suite runs on that very day.
    assert late == (2 if timezone.localdate() > first_day else 0)
    assert own.get("/api/v1/quality/deadlines/").json()[0]["deadline"] == first_day.isoformat()
    # The county's own officer sees the deadline on the ranking page.
    assert f"本县截止日期：{first_day:%Y-%m-%d}" in own.get("/bureau/quality/").content.decode()


def test_the_tasks_refresh_one_school_and_sweep_only_the_changed(world: World, monkeypatch) -> None:
    from celery import current_app
    from django.conf import settings

    from shared_apps.bureau.models import SchoolQuality
    from shared_apps.bureau.quality import tasks
    from shared_apps.bureau.quality.services import quality_refresh
    from tenant_apps.registry.facade import FIGURES

    beat = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"bureau.quality_sweep", "bureau.quality_nightly"} <= beat
    assert {
        "bureau.quality_sweep",
        "bureau.quality_nightly",
        "bureau.quality_refresh_school",
    } <= set(current_app.tasks)
    _build(world)
    assert tasks.quality_refresh_school(world.a.id) == len(FIGURES)
    assert SchoolQuality.objects.get(school_id=world.a.id, figure="deleted").count == 1
    for school in (world.b, world.c):
        quality_refresh(school_id=school.id)
    queued: list[int] = []
    monkeypatch.setattr(
        "shared_apps.bureau.quality.services.quality_refresh_queue",
        lambda ids: queued.extend(ids),
    )
    # Nothing moved since the three refreshes: the sweep queues none of them.
    tasks.quality_sweep()
    assert [pk for pk in queued if pk in (world.a.id, world.b.id, world.c.id)] == []
    with school_context(world.b.schema):
        _class(2020)
        _pupil(40, 2020, state="school_pending")
    connection.set_schema_to_public()
    tasks.quality_sweep()
    assert [pk for pk in queued if pk in (world.a.id, world.b.id, world.c.id)] == [world.b.id]
    queued.clear()
    tasks.quality_nightly()
    assert {world.a.id, world.b.id, world.c.id} <= set(queued)
