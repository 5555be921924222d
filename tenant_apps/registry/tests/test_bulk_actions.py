"""全选符合条件的 N 名: the school's and the bureau's audit actions applied to every
student a list's filter matches (not one page of checked rows) as a job with progress,
with the audit rules intact; and every such list pages and keeps its filter."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from html import unescape

import pytest
from django.db import connection

from common.actor import Actor
from conftest import World, login
from tenant_apps.registry.tests.factories import valid_row
from tenants.context import school_context

SEQ = 40_000  # generated pupils of this file; other files use lower seqs


def _actor(schema: str, username: str) -> Actor:
    return Actor(username=username, name=f"测试{username}", schema=schema)


def _class(number: int) -> str:
    from tenant_apps.registry.classes.services import class_create
    from tenant_apps.registry.models import SchoolClass

    class_no = SchoolClass.make_class_no("primary", 2024, number)
    if not SchoolClass.objects.filter(class_no=class_no).exists():
        class_create(stage="primary", entry_year=2024, number=number)
    return class_no


def _drafts(schema: str, seq0: int, count: int, class_no: str) -> list[int]:
    """`count` 待提交 pupils of `class_no`, registered through the service."""
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import student_register

    with school_context(schema):
        ids = [
            student_register(
                raw=valid_row(seq=seq0 + i, class_no=class_no), actor=_actor(schema, "registrar")
            ).pk
            for i in range(count)
        ]
        assert Student.objects.filter(pk__in=ids, audit_state="draft").count() == count
    return ids


def _states(schema: str, ids: list[int]) -> dict[str, int]:
    from django.db.models import Count

    from tenant_apps.registry.models import Student

    with school_context(schema):
        rows = (
            Student.objects.filter(pk__in=ids)
            .values("audit_state")
            .annotate(n=Count("pk"))
            .values_list("audit_state", "n")
        )
        return dict(rows)


def _events(schema: str, ids: list[int], action: str) -> int:
    from tenant_apps.registry.models import StudentEvent

    with school_context(schema):
        return StudentEvent.objects.filter(student_id__in=ids, action=action).count()


@pytest.mark.django_db
def test_submit_all_matching_applies_to_exactly_the_filtered_set_across_pages(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenant_apps.registry.students import bulk

    # given: 240 drafts in class 2024103 (8 pages of 30) and 60 in class 2024104
    with school_context(world.a.schema):
        one, two = _class(3), _class(4)
    first = _drafts(world.a.schema, SEQ, 240, one)
    other = _drafts(world.a.schema, SEQ + 240, 60, two)
    monkeypatch.setattr(bulk, "BULK_CHUNK", 50)
    seen: list[tuple[int, str]] = []
    # when: 全选符合条件的 240 名 of class 2024103
    with school_context(world.a.schema):
        from tenant_apps.registry.models import SchoolClass

        class_id = SchoolClass.objects.get(class_no=one).pk
        done = bulk.students_bulk_run(
            action=bulk.SUBMIT,
            flt=bulk.StudentFilter(class_id=class_id),
            reason="",
            actor=_actor(world.a.schema, "registrar"),
            progress=lambda p, m: seen.append((p, m)),
        )
    # then: exactly that class moved, one event per student; the other class did not
    assert (done.done, done.skipped) == (240, 0)
    assert done.message == "已提交 240 名学生审核，等待学校审核。"
    assert _states(world.a.schema, first) == {"school_pending": 240}
    assert _states(world.a.schema, other) == {"draft": 60}
    assert _events(world.a.schema, first, "提交学校审核") == 240
    assert _events(world.a.schema, other, "提交学校审核") == 0
    # progress moved chunk by chunk, 0 → 100
    assert [p for p, _m in seen] == [0, 20, 41, 62, 83, 100]
    assert seen[-1][1] == "已处理 240 / 240 名学生"


@pytest.mark.django_db
def test_school_decision_for_all_matching_keeps_maker_checker_and_needs_a_reason(
    world: World,
) -> None:
    from accounts.models import User
    from common.exceptions import ApplicationError
    from tenant_apps.registry.students import bulk
    from tenant_apps.registry.students.approval import students_submit

    # given: 130 students submitted by the registrar and 20 by the approver itself
    with school_context(world.a.schema):
        one = _class(1)
        ids = _drafts(world.a.schema, SEQ + 400, 150, one)
        students_submit(student_ids=ids[:130], actor=_actor(world.a.schema, "registrar"))
        students_submit(student_ids=ids[130:], actor=_actor(world.a.schema, "approver"))
        approver = User.objects.get(username="approver")
        flt = bulk.StudentFilter()
        # when / then: a return without a reason is refused before any job exists
        with pytest.raises(ApplicationError) as refused:
            bulk.students_bulk_start(
                action=bulk.RETURN,
                flt=flt,
                reason=" ",
                actor=_actor(world.a.schema, "approver"),
                owner_id=approver.pk,
            )
        assert refused.value.extra == {"reason": ["请填写退回原因。"]}
        matching = bulk.students_matching(
            action=bulk.APPROVE, flt=flt, actor_username="approver"
        ).count()
        assert matching == 130
        done = bulk.students_bulk_run(
            action=bulk.APPROVE,
            flt=flt,
            reason="",
            actor=_actor(world.a.schema, "approver"),
            progress=lambda p, m: None,
        )
    # then: the approver's own 20 stay pending (maker ≠ checker), the 130 went on
    assert done.done == 130
    assert _states(world.a.schema, ids[:130]) == {"county_pending": 130}
    assert _states(world.a.schema, ids[130:]) == {"school_pending": 20}
    assert _events(world.a.schema, ids[:130], "学校审核通过") == 130


def _pager_links(html: str) -> list[str]:
    return [unescape(link) for link in re.findall(r'href="\?([^"]*page=\d+)"', html)]


@pytest.mark.django_db
def test_school_lists_page_and_keep_their_filter(world: World) -> None:
    from tenant_apps.registry.models import SchoolClass

    # given: 130 drafts in class 2024102 besides the seeded pupil of 2024101
    with school_context(world.a.schema):
        two = _class(2)
        class_id = SchoolClass.objects.get(class_no=two).pk
    _drafts(world.a.schema, SEQ + 600, 130, two)
    client = login(world.a.host, "registrar")
    # when: page 2 of that class's drafts
    response = client.get(f"/registry/students/?class_id={class_id}&audit_state=draft&page=2")
    connection.set_schema_to_public()
    html = response.content.decode()
    # then: 30 rows, and every page link carries the filter
    assert response.status_code == 200
    assert html.count('name="ids"') == 30
    links = _pager_links(html)
    assert links
    assert all(f"class_id={class_id}" in link and "audit_state=draft" in link for link in links)
    assert "全选符合条件的 130 名" in html
    # and the approver's list pages with its filter too (100 a page)
    with school_context(world.a.schema):
        from tenant_apps.registry.models import Student
        from tenant_apps.registry.students.approval import students_submit

        ids = list(Student.objects.filter(school_class_id=class_id).values_list("pk", flat=True))
        students_submit(student_ids=ids, actor=_actor(world.a.schema, "registrar"))
    approver = login(world.a.host, "approver")
    response = approver.get(f"/registry/audit/?class_id={class_id}")
    connection.set_schema_to_public()
    html = response.content.decode()
    assert html.count('name="ids"') == 100
    assert _pager_links(html) == [f"class_id={class_id}&page=2"]
    assert "全选符合条件的 130 名" in html


@pytest.mark.django_db
def test_submit_api_takes_a_filter_and_answers_with_the_job(world: World) -> None:
    from shared_apps.jobs.models import Job

    with school_context(world.a.schema):
        two = _class(2)
        from tenant_apps.registry.models import SchoolClass

        class_id = SchoolClass.objects.get(class_no=two).pk
    _drafts(world.a.schema, SEQ + 800, 12, two)
    client = login(world.a.host, "registrar")
    # when: {"filter": …} instead of {"ids": […]}; both at once is refused
    both = client.post(
        "/api/v1/students/submit/",
        {"ids": [str(uuid.uuid4())], "filter": {"class_id": class_id}},
        content_type="application/json",
    )
    response = client.post(
        "/api/v1/students/submit/",
        {"filter": {"class_id": class_id}},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    # then: 202 with the job and the count matching now
    assert both.status_code == 400
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["matching"] == 12
    job = Job.objects.get(pk=body["job_id"])
    assert job.owner_schema == world.a.schema
    assert job.title == "提交学校审核：符合条件的 12 名学生"
    # and the approver's decision over a filter: a return without a reason is refused
    approver = login(world.a.host, "approver")
    refused = approver.post(
        "/api/v1/students/school-decision/",
        {"filter": {"class_id": class_id}, "approve": False},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"reason": ["请填写退回原因。"]}
    assert not Job.objects.filter(kind="students_return").exists()


# -- bureau ---------------------------------------------------------------------------


def _county_pending(world: World, schema: str, seq0: int, count: int) -> list[int]:
    from tenant_apps.registry.students.approval import students_school_decide, students_submit

    with school_context(schema):
        one = _class(1)
    ids = _drafts(schema, seq0, count, one)
    with school_context(schema):
        students_submit(student_ids=ids, actor=_actor(schema, "registrar"))
        students_school_decide(
            student_ids=ids, approve=True, reason="", actor=_actor(schema, "approver")
        )
    return ids


@pytest.mark.django_db
def test_bureau_decides_all_matching_of_one_school_and_its_list_pages(
    world: World, bureau_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts.models import User
    from shared_apps.bureau import services

    # given: 130 students of school A and 10 of school B awaiting the bureau
    a_ids = _county_pending(world, world.a.schema, SEQ + 1000, 130)
    b_ids = _county_pending(world, world.b.schema, SEQ + 1200, 10)
    officer = login(bureau_host, world.bureau_user)
    # the bureau's list pages (100 a page) and its page links keep the school filter
    response = officer.get(f"/bureau/audit/?school_id={world.a.id}")
    html = response.content.decode()
    assert html.count('name="items"') == 100
    assert _pager_links(html) == [f"school_id={world.a.id}&page=2"]
    assert "全选符合条件的 130 名" in html
    page2 = officer.get(f"/bureau/audit/?school_id={world.a.id}&page=2").content.decode()
    assert page2.count('name="items"') == 30
    api = officer.get(f"/api/v1/audit/students/?school_id={world.a.id}&page=3").json()
    assert api["count"] == 130  # 50 a page through the API
    assert len(api["results"]) == 30
    # when: 全选符合条件的 130 名 of school A, approved
    monkeypatch.setattr(services, "COUNTY_CHUNK", 40)
    seen: list[int] = []
    connection.set_schema_to_public()
    done = services.county_decide_run(
        user=User.objects.get(username=world.bureau_user),
        school_id=world.a.id,
        approve=True,
        reason="",
        progress=lambda p, m: seen.append(p),
    )
    # then: exactly A's 130 are registered with a formal number; B's 10 still wait
    assert done.message == "已审核通过 130 名学生，学籍已注册，国家校验通过后分配正式学籍号。"
    assert _states(world.a.schema, a_ids) == {"registered": 130}
    assert _events(world.a.schema, a_ids, "教育局审核通过") == 130
    assert _events(world.a.schema, a_ids, "分配正式学籍号") == 0  # L until the national check
    assert _states(world.b.schema, b_ids) == {"county_pending": 10}
    assert seen == [0, 30, 61, 92, 100]
    # and another county's officer cannot start one over A
    other = login(bureau_host, world.other_bureau_user)
    refused = other.post(
        "/api/v1/audit/students/decision/",
        {"filter": {"school_id": world.a.id}, "approve": True},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "没有符合条件的学生。"


# -- through a real Celery worker -----------------------------------------------------


@pytest.fixture
def worker(celery_worker_thread: None) -> None:
    return None


@pytest.fixture
def committed_drafts(live_db: World) -> Iterator[tuple[World, list[int], int]]:
    """120 committed drafts of a class of their own in school A, removed afterwards."""
    from shared_apps.jobs.models import Job
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import SchoolClass, Student

    world = live_db
    with school_context(world.a.schema):
        number = 9
        class_no = _class(number)
        class_id = SchoolClass.objects.get(class_no=class_no).pk
    ids = _drafts(world.a.schema, SEQ + 2000, 120, class_no)
    try:
        yield world, ids, class_id
    finally:
        with school_context(world.a.schema):
            uuids = list(Student.objects.filter(pk__in=ids).values_list("identifier", flat=True))
            Student.objects.filter(pk__in=ids).delete()
            SchoolClass.objects.filter(pk=class_id).delete()
        connection.set_schema_to_public()
        IndexEntry.objects.filter(student_uuid__in=uuids).delete()
        Job.objects.filter(kind="students_submit", owner_schema=world.a.schema).delete()


@pytest.mark.worker
def test_submit_all_matching_runs_as_a_celery_job_whose_progress_moves(
    committed_drafts: tuple[World, list[int], int],
    worker: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.students import bulk

    world, ids, class_id = committed_drafts
    # Small chunks, so the 120 students take six transactions the poll below can see.
    monkeypatch.setattr(bulk, "BULK_CHUNK", 20)
    client = login(world.a.host, "registrar")
    # when: the list's "select all matching" box is posted with the filter, no ids
    response = client.post(
        "/registry/students/submit/",
        {"all_matching": "1", "class_id": str(class_id), "q": "", "status": ""},
    )
    connection.set_schema_to_public()
    assert response.status_code == 302
    job_id = re.search(r"job=([0-9a-f-]{36})", response["Location"]).group(1)  # type: ignore[union-attr]
    assert f"class_id={class_id}" in response["Location"]
    # then: the worker moves the job's percent through intermediate values to done
    percents: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if not percents or percents[-1] != job.percent:
            percents.append(job.percent)
        if job.state in (Job.State.SUCCEEDED, Job.State.FAILED):
            break
        time.sleep(0.005)
    assert job.state == Job.State.SUCCEEDED, job.message
    assert job.message == "已提交 120 名学生审核，等待学校审核。"
    assert percents[-1] == 100
    assert any(0 < p < 100 for p in percents), percents
    assert percents == sorted(percents)
    assert _states(world.a.schema, ids) == {"school_pending": 120}
    assert _events(world.a.schema, ids, "提交学校审核") == 120
    # and the page it was sent to shows that job's bar to its owner
    page = client.get(response["Location"]).content.decode()
    connection.set_schema_to_public()
    assert f"/api/v1/jobs/{job_id}/" in page


@pytest.mark.django_db
def test_bureau_evidence_queue_pages(world: World, bureau_host: str) -> None:
    from shared_apps.bureau.models import EvidenceReview

    # given: 60 pending reviews of school A (their files are not needed to page them)
    connection.set_schema_to_public()
    EvidenceReview.objects.bulk_create(
        EvidenceReview(
            school_id=world.a.id, problem_id=-n, evidence_id=-n, student_uuid=uuid.uuid4()
        )
        for n in range(1, 61)
    )
    officer = login(bureau_host, world.bureau_user)
    # when / then: the page and the API page them (50 and 50 a page)
    html = officer.get("/bureau/evidence/").content.decode()
    assert "第 1 / 2 页，共 60 件" in html
    assert _pager_links(html) == ["page=2"]
    api = officer.get("/api/v1/audit/evidence/?page=2").json()
    assert api["count"] == 60
    assert api["previous"] is not None
    other = login(bureau_host, world.other_bureau_user).get("/api/v1/audit/evidence/").json()
    assert other["count"] == 0
