"""全选符合条件的 N 件 on the bureau's case queue: the queue pages and keeps its filter,
the decision over every matching case waiting for the bureau runs case by case, and no
batch ever decides a transfer (domain.md §3.5)."""

from __future__ import annotations

import re
from html import unescape
from typing import TYPE_CHECKING

from django.db import connection

from conftest import login
from shared_apps.jobs.models import Job
from shared_apps.transfers import bulk
from shared_apps.transfers.models import Case, CaseState
from shared_apps.transfers.services import case_decide
from shared_apps.transfers.tests.test_engine import (  # noqa: F401 - the fixture
    handlers,
    open_case,
    school_actor,
)

if TYPE_CHECKING:
    from conftest import World


def _at_bureau(world: World, key: str, count: int) -> list[str]:
    """`count` cases of school `key` past the school's step, waiting for 浏阳市教育局."""
    ids = []
    for _ in range(count):
        case = open_case(world, key)
        case_decide(case_id=case.pk, actor=school_actor(world, key), approve=True, step=0)
        ids.append(str(case.pk))
    return ids


def test_bureau_queue_pages_and_decides_all_matching_cases(
    public: None,
    world: World,
    handlers: list,  # noqa: F811 - the fixture imported above
    django_capture_on_commit_callbacks: object,
) -> None:
    from accounts.models import User

    # given: 60 cases of school A and 4 of school B at the bureau's step
    a_ids = _at_bureau(world, "a", 60)
    b_ids = _at_bureau(world, "b", 4)
    officer = login("localhost", "liuyang")
    # the queue pages (50 a page) and its page links keep the school filter
    html = officer.get(f"/bureau/cases/?school={world.a.id}").content.decode()
    connection.set_schema_to_public()
    assert html.count('name="case_ids"') == 50
    links = [unescape(x) for x in re.findall(r'href="\?([^"]*page=\d+)"', html)]
    assert links == [f"school={world.a.id}&page=2"]
    assert "全选符合条件的 60 件（待本局办理）" in html
    page2 = officer.get(f"/bureau/cases/?school={world.a.id}&page=2").content.decode()
    connection.set_schema_to_public()
    assert page2.count('name="case_ids"') == 10
    # the page's box sends the filter to a job (no ids); a return needs a reason first
    everything = {"all_matching": "1", "school": str(world.a.id)}
    refused = officer.post("/bureau/cases/batch/", {**everything, "decision": "reject"})
    connection.set_schema_to_public()
    assert refused.status_code == 302
    assert not Job.objects.filter(kind="cases_decide").exists()
    with django_capture_on_commit_callbacks(execute=False) as sent:  # type: ignore[operator]
        started = officer.post("/bureau/cases/batch/", {**everything, "decision": "approve"})
    connection.set_schema_to_public()
    job = Job.objects.get(kind="cases_decide")
    assert job.title == "批量审核通过：符合条件的 60 件业务"
    assert len(sent) == 1
    assert started["Location"] == f"/bureau/cases/?school={world.a.id}&job={job.pk}"
    # when: the job's work runs
    seen: list[int] = []
    done = bulk.cases_decide_run(
        user=User.objects.get(username="liuyang"),
        flt=bulk.CaseFilter(school=world.a.id),
        approve=True,
        reason="",
        progress=lambda p, m: seen.append(p),
    )
    # then: exactly A's 60 cases are done, B's 4 still wait; progress every ten cases
    assert done.message == "已处理 60 件，未处理 0 件。"
    assert Case.objects.filter(pk__in=a_ids, state=CaseState.DONE).count() == 60
    assert Case.objects.filter(pk__in=b_ids, state=CaseState.OPEN, step=1).count() == 4
    assert seen == [0, 16, 33, 50, 66, 83, 100]
    assert len(handlers) == 60


def test_no_batch_decides_a_transfer(public: None, world: World) -> None:
    from shared_apps.transfers.models import CaseKind

    # given: a transfer and a 休学 case of school A, both at the bureau's step
    transfer = open_case(world, "a", kind=CaseKind.TRANSFER)
    suspend = open_case(world, "a")
    for case in (transfer, suspend):
        case_decide(case_id=case.pk, actor=school_actor(world, "a"), approve=True, step=0)
    officer = login("localhost", "liuyang")
    # the queue offers the box for the 休学 case only, and counts only it as matching
    html = officer.get("/bureau/cases/").content.decode()
    connection.set_schema_to_public()
    assert f'name="case_ids" value="{suspend.pk}"' in html
    assert f'name="case_ids" value="{transfer.pk}"' not in html
    assert "全选符合条件的 1 件（待本局办理）" in html
    # when: a (forged) checked batch names both
    officer.post(
        "/bureau/cases/batch/",
        {"decision": "approve", "case_ids": [str(transfer.pk), str(suspend.pk)]},
    )
    connection.set_schema_to_public()
    # then: the 休学 case is done, the transfer still waits for the bureau
    assert Case.objects.get(pk=suspend.pk).state == CaseState.DONE
    assert Case.objects.get(pk=transfer.pk).state == CaseState.OPEN
    assert Case.objects.get(pk=transfer.pk).step == 1
    # and 全选符合条件 for transfers starts no job
    officer.post(
        "/bureau/cases/batch/",
        {"all_matching": "1", "kind": CaseKind.TRANSFER, "decision": "approve"},
    )
    connection.set_schema_to_public()
    assert not Job.objects.filter(kind="cases_decide").exists()
    assert (
        bulk.cases_matching(region="430181000000", flt=bulk.CaseFilter(kind=CaseKind.TRANSFER))
        == []
    )


def test_school_case_list_pages_and_keeps_its_filter(public: None, world: World) -> None:
    # given: 55 open cases of school A waiting for the school itself
    for _ in range(55):
        open_case(world, "a")
    approver = login(world.a.host, "approver")
    # when: the waiting cases, page 2
    html = approver.get("/transfers/?direction=waiting&page=2").content.decode()
    api = approver.get("/api/v1/cases/?direction=waiting").json()
    connection.set_schema_to_public()
    # then: the rest of them, and the page links keep the direction
    assert html.count('href="/transfers/cases/') == 5
    links = [unescape(x) for x in re.findall(r'href="\?([^"]*page=\d+)"', html)]
    assert links == ["direction=waiting&page=1"]
    assert "第 2 / 2 页，共 55 件" in html
    assert api["count"] == 55
