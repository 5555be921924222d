"""The county's audit queue (issue 16 point 4): it pages through every item, oldest first,
filtered by school, waiting days and kind; lists are masked; opening one item shows its
real values to an officer with 学籍教育局审核 and writes one read.reveal entry each time;
another county's officer gets 404; registrations are decided in batches, 佐证 alone."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html import unescape

import pytest
from django.db import connection
from django.utils import timezone

from common.actor import Actor
from conftest import World, login
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

SEQ = 46_000  # generated pupils of this file; other files use other seqs
pytestmark = pytest.mark.django_db


def _actor(schema: str, username: str) -> Actor:
    return Actor(username=username, name=f"测试{username}", schema=schema)


def _class_id(schema: str) -> int:
    from tenant_apps.registry.models import SchoolClass

    with school_context(schema):
        return SchoolClass.objects.get(stage="primary", entry_year=2024, number=1).pk


def _ago(days: int) -> dt.datetime:
    """A moment `days` local calendar days back that is also a little more than `days` x
    24 hours ago: the page counts waiting days by the local calendar and filters by the
    clock, and both must agree at any hour (an hour's margin put it on the day before
    between 00:00 and 01:00 local time)."""
    now = timezone.localtime()
    since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    margin = min(dt.timedelta(hours=1), since_midnight / 2) or dt.timedelta(microseconds=1)
    return now - dt.timedelta(days=days) - margin


def _aged(uuids: list[uuid.UUID], days: int) -> None:
    """Those index entries began waiting for the county `days` days ago."""
    from shared_apps.student_index.models import IndexEntry

    connection.set_schema_to_public()
    IndexEntry.objects.filter(student_uuid__in=uuids).update(updated_at=_ago(days))


def _bulk_pending(world_school: object, count: int, *, start: int, days: int) -> list[uuid.UUID]:
    """`count` students of the school waiting for the county since `days` days ago,
    bulk-created (student rows and their index entries), so thousands cost little. ID
    numbers are 43018120180301 + a 4-digit serial: the list must never show one whole."""
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import Student

    school = world_school
    class_id = _class_id(school.schema)  # type: ignore[attr-defined]
    uuids = [uuid.uuid4() for _ in range(count)]
    with school_context(school.schema):  # type: ignore[attr-defined]
        Student.objects.bulk_create(
            Student(
                identifier=u,
                name=f"批量{start + n}",
                sex="1",
                birth_date=dt.date(2018, 3, 1),
                id_number=f"43018120180301{start + n:04d}",
                school_class_id=class_id,
                entry_year_month="202409",
                audit_state="county_pending",
            )
            for n, u in enumerate(uuids)
        )
    connection.set_schema_to_public()
    IndexEntry.objects.bulk_create(
        IndexEntry(
            school_id=school.id,  # type: ignore[attr-defined]
            student_uuid=u,
            name_hash=uuid.uuid4().hex,
            pinyin_hash=uuid.uuid4().hex,
            stage="primary",
            entry_year=2024,
            sex="1",
            ethnicity="01",
            status="01",
            audit_state="county_pending",
        )
        for u in uuids
    )
    _aged(uuids, days)
    return uuids


def _county_pending(schema: str, seqs: list[int]) -> list[uuid.UUID]:
    """Pupils entered, submitted and passed by the school through the services: what
    really reaches the county (family members included)."""
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.approval import students_school_decide, students_submit
    from tenant_apps.registry.students.services import student_register

    with school_context(schema):
        class_no = SchoolClass.objects.get(stage="primary", entry_year=2024, number=1).class_no
        ids = [
            student_register(
                raw=valid_row(seq=s, class_no=class_no), actor=_actor(schema, "registrar")
            ).pk
            for s in seqs
        ]
        students_submit(student_ids=ids, actor=_actor(schema, "registrar"))
        students_school_decide(
            student_ids=ids, approve=True, reason="", actor=_actor(schema, "approver")
        )
        uuids = list(Student.objects.filter(pk__in=ids).values_list("identifier", flat=True))
    connection.set_schema_to_public()
    return uuids


def _evidence(world: World, student_uuid: uuid.UUID, *, days: int) -> int:
    """A pending 佐证 of school B for that student, waiting `days` days: the review id."""
    from shared_apps.bureau.models import EvidenceReview
    from tenant_apps.registry.models import Evidence, ProblemRecord, Student

    with school_context(world.b.schema):
        student = Student.objects.get(identifier=student_uuid)
        problem = ProblemRecord.objects.create(
            student=student, kind="suspected", state="evidence_pending"
        )
        evidence = Evidence.objects.create(
            problem=problem,
            file_key="evidence/hukou.png",
            original_name="户口簿首页.png",
            content_type="image/png",
            size=10,
            note="户口簿首页与学校记录一致",
            uploaded_by="registrar",
        )
    connection.set_schema_to_public()
    review = EvidenceReview.objects.create(
        school_id=world.b.id,
        problem_id=problem.pk,
        evidence_id=evidence.pk,
        student_uuid=student_uuid,
    )
    EvidenceReview.objects.filter(pk=review.pk).update(submitted_at=_ago(days))
    return review.pk


def _reveals(student_uuid: uuid.UUID) -> list[tuple[str, str, str]]:
    from accounts.models import AuditEntry

    connection.set_schema_to_public()
    return list(
        AuditEntry.objects.filter(action="read.reveal", object_id=str(student_uuid))
        .order_by("pk")
        .values_list("username", "school", "object_type")
    )


def _rows(html: str) -> list[str]:
    """The student uuids of the checkable rows (registrations), in page order."""
    return re.findall(r'name="items" value="\d+:([0-9a-f-]+)"', html)


FULL_ID = re.compile(r"43018120180301\d{4}")


def test_the_queue_pages_past_2000_items_oldest_first_with_filters(
    world: World, bureau_host: str
) -> None:
    # given: 2,050 registrations of A (50 waiting 40 days, 2,000 waiting 1 day), 3 of B
    # waiting 20 days and one 佐证 of B waiting 30 days: 2,054 items
    oldest = _bulk_pending(world.a, 50, start=0, days=40)
    recent = _bulk_pending(world.a, 2000, start=50, days=1)
    of_b = _bulk_pending(world.b, 3, start=2050, days=20)
    review_id = _evidence(world, of_b[0], days=30)
    officer = login(bureau_host, world.bureau_user)

    # when / then: the page counts every item and pages to the last one, 100 a page
    first = officer.get("/bureau/audit/").content.decode()
    connection.set_schema_to_public()
    assert "第 1 / 21 页，共 2054 件" in first
    # the oldest first (items of one age in a fixed order of their own)
    assert set(_rows(first)[:50]) == {str(u) for u in oldest}
    assert f'href="/bureau/evidence/{review_id}/"' in first  # 30 days: right after them
    assert set(_rows(first)[50:53]) == {str(u) for u in of_b}  # then B's 20-day ones
    assert "全选符合条件的 2053 名" in first  # registrations only, not the 佐证
    last = officer.get("/bureau/audit/?page=21").content.decode()
    connection.set_schema_to_public()
    assert "第 21 / 21 页，共 2054 件" in last
    assert len(_rows(last)) == 54
    assert set(_rows(last)) <= {str(u) for u in recent}
    # a list never shows a full ID number, only masked ones
    for html in (first, last):
        assert FULL_ID.search(html) is None
    assert "4301**********0000" in first  # the oldest group holds serials 0000-0049

    # the filters: school, waiting days, kind, and together; page links keep them
    def count(query: str) -> int:
        html = officer.get(f"/bureau/audit/?{query}").content.decode()
        connection.set_schema_to_public()
        found = re.search(r'<span class="num">(\d+)</span>', html)
        assert found is not None, query
        return int(found.group(1))

    assert count(f"school_id={world.b.id}") == 4
    assert count(f"school_id={world.a.id}") == 2050
    assert count("kind=evidence") == 1
    assert count("kind=registration") == 2053
    assert count("min_days=10") == 54
    assert count("min_days=30") == 51
    assert count("min_days=30&kind=registration") == 50
    assert count(f"min_days=3&school_id={world.a.id}") == 50
    assert count("min_days=x&kind=nonsense") == 2054  # bad values are ignored on the page
    filtered = officer.get(f"/bureau/audit/?school_id={world.a.id}&min_days=0").content.decode()
    assert f'href="?school_id={world.a.id}&page=2"' in unescape(filtered)

    # the API: the same queue, masked, 50 a page, the same filters
    api = officer.get("/api/v1/audit/queue/?page=42").json()
    connection.set_schema_to_public()
    assert api["count"] == 2054
    assert len(api["results"]) == 4
    assert {r["student_uuid"] for r in api["results"]} <= {str(u) for u in recent}
    assert {r["kind"] for r in api["results"]} == {"registration"}
    assert api["results"][0]["waiting_days"] == 1
    top = officer.get("/api/v1/audit/queue/").json()["results"]
    connection.set_schema_to_public()
    assert [r["waiting_days"] for r in top] == [40] * 50
    second = officer.get("/api/v1/audit/queue/?page=2").json()["results"]
    connection.set_schema_to_public()
    assert second[0]["kind"] == "evidence"  # item 51: the 30-day 佐证
    assert second[0]["ref"] == str(review_id)
    assert second[0]["batchable"] is False
    assert second[0]["kind_label"] == "佐证材料审核"
    assert [r["waiting_days"] for r in second[1:4]] == [20] * 3
    assert FULL_ID.search(str(top + second)) is None
    for query, expected in (
        (f"school_id={world.b.id}", 4),
        ("kind=evidence", 1),
        ("min_days=30", 51),
        (f"min_days=10&school_id={world.b.id}&kind=registration", 3),
    ):
        assert officer.get(f"/api/v1/audit/queue/?{query}").json()["count"] == expected, query
        connection.set_schema_to_public()
    students = officer.get("/api/v1/audit/students/?min_days=30&page=1").json()
    connection.set_schema_to_public()
    assert students["count"] == 50
    assert {r["student_uuid"] for r in students["results"]} == {str(u) for u in oldest}
    assert FULL_ID.search(str(students)) is None
    # malformed filters are ignored, as on the page
    bad = officer.get("/api/v1/audit/queue/?min_days=abc&kind=x&school_id=-1")
    connection.set_schema_to_public()
    assert (bad.status_code, bad.json()["count"]) == (200, 2054)

    # another county's officer sees none of it
    other = login(bureau_host, world.other_bureau_user)
    assert other.get("/api/v1/audit/queue/").json()["count"] == 0
    connection.set_schema_to_public()
    page = other.get("/bureau/audit/").content.decode()
    connection.set_schema_to_public()
    assert world.a.name not in page
    assert _rows(page) == []


def test_opening_a_registration_shows_its_real_values_and_audits_each_reveal(
    world: World, bureau_host: str
) -> None:
    from tenant_apps.registry.models import Student

    # given: one pupil of A passed by the school, with the values of valid_row
    (student_uuid,) = _county_pending(world.a.schema, [SEQ])
    row = valid_row(seq=SEQ)
    officer = login(bureau_host, world.bureau_user)
    # the list shows it masked, and opening it is not yet recorded
    listed = officer.get("/bureau/audit/").content.decode()
    connection.set_schema_to_public()
    assert str(student_uuid) in listed
    assert row["name"] not in listed
    assert row["id_number"] not in listed
    assert _reveals(student_uuid) == []

    # when: the officer opens it, twice, then once through the API
    url = f"/bureau/audit/{world.a.id}/{student_uuid}/"
    page = unescape(officer.get(url).content.decode())
    connection.set_schema_to_public()
    officer.get(url)
    api = officer.get(f"/api/v1/audit/students/{world.a.id}/{student_uuid}/")
    connection.set_schema_to_public()

    # then: the real values (name, ID number, birth date, 户口, family) are shown
    birth = f"{row['birth_date'][:4]}-{row['birth_date'][4:6]}-{row['birth_date'][6:]}"
    for value in (row["name"], row["id_number"], birth, "农业户口", row["m1_name"]):
        assert value in page, value
    assert row["m1_id_number"] in page
    assert world.a.name in page
    # ... and each opening is one read.reveal entry naming the student and its school
    assert _reveals(student_uuid) == [(world.bureau_user, world.a.schema, "student")] * 3
    assert api.status_code == 200
    record = api.json()["record"]
    assert record["name"] == row["name"]
    assert record["id_number"] == row["id_number"]
    assert record["birth_date"] == birth
    assert record["household_type"] == "农业户口"
    family = [s for s in record["sections"] if "成员1" in s["label"]]
    assert [row["m1_name"]] == [v for label, v in family[0]["rows"] if label.endswith("姓名")]
    assert api.json()["waiting_days"] == 0

    # another county's officer: 404 on the page and the API, and nothing recorded
    other = login(bureau_host, world.other_bureau_user)
    assert other.get(url).status_code == 404
    connection.set_schema_to_public()
    assert other.get(f"/api/v1/audit/students/{world.a.id}/{student_uuid}/").status_code == 404
    connection.set_schema_to_public()
    assert other.post(url, {"decision": "approve"}).status_code == 404
    connection.set_schema_to_public()
    assert len(_reveals(student_uuid)) == 3

    # when: a return without a reason, then the approval of this one student
    refused = officer.post(url, {"decision": "return", "reason": ""}).content.decode()
    connection.set_schema_to_public()
    assert "请填写退回原因" in refused
    approved = officer.post(url, {"decision": "approve"})
    connection.set_schema_to_public()
    assert approved.status_code == 302
    with school_context(world.a.schema):
        student = Student.objects.get(identifier=student_uuid)
        # registered with its L number; the G number waits for the national check
        assert student.audit_state == "registered"
        assert student.national_number.startswith("L430181")
    connection.set_schema_to_public()
    # a record no longer waiting is not opened (404), and nothing more is revealed
    assert officer.get(url).status_code == 404
    connection.set_schema_to_public()
    assert len(_reveals(student_uuid)) == 3 + 1  # the refused POST re-showed the record


def test_opening_a_evidence_shows_file_and_real_values_and_is_decided_alone(
    world: World, bureau_host: str
) -> None:
    from shared_apps.bureau.models import EvidenceReview

    (student_uuid,) = _county_pending(world.b.schema, [SEQ + 1])
    row = valid_row(seq=SEQ + 1)
    review_id = _evidence(world, student_uuid, days=12)
    officer = login(bureau_host, world.bureau_user)
    listed = officer.get("/bureau/evidence/?min_days=10").content.decode()
    connection.set_schema_to_public()
    assert f'href="/bureau/evidence/{review_id}/"' in listed
    assert row["id_number"] not in listed
    assert "12 天" in listed
    older = officer.get("/bureau/evidence/?min_days=30").content.decode()
    connection.set_schema_to_public()
    assert f'href="/bureau/evidence/{review_id}/"' not in older
    listed_api = officer.get(f"/api/v1/audit/evidence/?min_days=10&school_id={world.b.id}")
    connection.set_schema_to_public()
    assert [r["review_id"] for r in listed_api.json()["results"]] == [review_id]
    assert listed_api.json()["results"][0]["id_number"] == "4301**********" + row["id_number"][-4:]
    assert officer.get("/api/v1/audit/evidence/?min_days=30").json()["count"] == 0
    connection.set_schema_to_public()
    # the list has no decision form: each 佐证 is decided on its own page
    assert 'name="decision"' not in listed

    page = unescape(officer.get(f"/bureau/evidence/{review_id}/").content.decode())
    connection.set_schema_to_public()
    for value in (row["name"], row["id_number"], "户口簿首页.png", "户口簿首页与学校记录一致"):
        assert value in page, value
    api = officer.get(f"/api/v1/audit/evidence/{review_id}/").json()
    connection.set_schema_to_public()
    assert api["evidence"]["record"]["id_number"] == row["id_number"]
    assert api["evidence"]["original_name"] == "户口簿首页.png"
    assert api["waiting_days"] == 12
    assert _reveals(student_uuid) == [(world.bureau_user, world.b.schema, "student")] * 2
    other = login(bureau_host, world.other_bureau_user)
    assert other.get(f"/bureau/evidence/{review_id}/").status_code == 404
    connection.set_schema_to_public()
    assert other.get(f"/api/v1/audit/evidence/{review_id}/").status_code == 404
    connection.set_schema_to_public()
    assert len(_reveals(student_uuid)) == 2

    done = officer.post(f"/bureau/evidence/{review_id}/", {"decision": "accept"})
    connection.set_schema_to_public()
    assert done.status_code == 302
    assert EvidenceReview.objects.get(pk=review_id).state == "accepted"
    with school_context(world.b.schema):
        from tenant_apps.registry.models import ProblemRecord

        assert ProblemRecord.objects.get(student__identifier=student_uuid).state == "resolved"
    connection.set_schema_to_public()
    # decided: it is no longer opened
    assert officer.get(f"/bureau/evidence/{review_id}/").status_code == 404
    connection.set_schema_to_public()


def test_a_batch_of_registrations_is_decided_from_the_queue(world: World, bureau_host: str) -> None:
    from accounts.models import User
    from shared_apps.bureau import services
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.models import Student

    # given: four pupils of A passed by the school; two of them waited 15 days
    uuids = _county_pending(world.a.schema, [SEQ + 10, SEQ + 11, SEQ + 12, SEQ + 13])
    _aged(uuids[:2], 15)
    officer = login(bureau_host, world.bureau_user)

    # when: two checked rows are approved in one go
    items = [f"{world.a.id}:{u}" for u in uuids[2:]]
    answer = officer.post("/bureau/audit/", {"items": items, "decision": "approve"})
    connection.set_schema_to_public()
    assert answer.status_code == 302
    with school_context(world.a.schema):
        states = dict(
            Student.objects.filter(identifier__in=uuids).values_list("identifier", "audit_state")
        )
    connection.set_schema_to_public()
    assert [states[u] for u in uuids] == [
        "county_pending",
        "county_pending",
        "registered",
        "registered",
    ]

    # and 全选符合条件的 N 名 under "waited 10 days or more" covers exactly the old two
    started = officer.post(
        "/bureau/audit/?min_days=10",
        {"all_matching": "1", "min_days": "10", "decision": "return", "reason": "出生日期待核实"},
    )
    connection.set_schema_to_public()
    job = Job.objects.get(kind="county_decide")
    assert started["Location"] == f"/bureau/audit/?min_days=10&job={job.pk}"
    assert job.title == "教育局审核退回：符合条件的 2 名学生"
    done = services.county_decide_run(
        user=User.objects.get(username=world.bureau_user),
        school_id=None,
        min_days=10,
        approve=False,
        reason="出生日期待核实",
        progress=lambda p, m: None,
    )
    assert done.message == "已退回 2 名学生，学校修改后可重新提交。"
    with school_context(world.a.schema):
        states = dict(
            Student.objects.filter(identifier__in=uuids).values_list("identifier", "audit_state")
        )
    connection.set_schema_to_public()
    assert [states[u] for u in uuids] == ["draft", "draft", "registered", "registered"]
