"""Jobs say what is true (issue 12): a confirmed import's job says what was imported, and
progress reported from inside one long transaction is seen by a poller at once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from config.celery import app
from django.db import connection, connections, transaction

from conftest import World, login
from tenant_apps.registry.fields import COLUMNS
from tenant_apps.registry.tests.factories import valid_row

BASE = 7700  # seq offset so these pupils never meet the other tests' pupils


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in COLUMNS])
    for row in rows:
        writer.writerow([row.get(c.key, "") for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


@pytest.mark.django_db
def test_a_confirmed_import_job_says_how_many_were_imported(
    world: World, eager: None, django_capture_on_commit_callbacks
) -> None:
    from shared_apps.jobs.models import Job

    client = login(world.a.host, "registrar")
    upload = io.BytesIO(_csv([valid_row(BASE + i) for i in range(3)]))
    upload.name = "学生.csv"
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/api/v1/imports/", {"file": upload})
    connection.set_schema_to_public()
    assert started.status_code == 202, started.content
    job = Job.objects.get(pk=started.json()["job_id"])
    # given: the dry run's job asks for the confirmation
    assert job.state == Job.State.SUCCEEDED
    assert "请查看报告后确认" in job.message
    # when: the registrar confirms
    done = client.post(
        f"/api/v1/imports/{started.json()['id']}/confirm/",
        {"mode": "valid_only"},
        content_type="application/json",
    )
    connection.set_schema_to_public()
    assert done.status_code == 200, done.content
    # then: the job says what was done, no longer what to do
    job.refresh_from_db()
    who = f"{world.a.name}registrar（registrar）"  # the registrar's name and staff number
    assert job.message == f"已导入 3 名学生（跳过 0 行），由{who}确认。"
    assert "请查看报告后确认" not in job.message
    assert (job.state, job.percent) == (Job.State.SUCCEEDED, 100)


def test_progress_inside_a_transaction_is_seen_by_another_session_at_once(
    live_db: World,
) -> None:
    from shared_apps.jobs.models import Job
    from shared_apps.jobs.progress import JobReporter
    from shared_apps.jobs.services import job_create

    job = job_create(owner_id=1, kind="rollover", title="测试进度")
    poller = connections.create_connection("default")
    report = JobReporter(job.pk)

    def polled() -> tuple[int, str]:
        with poller.cursor() as cursor:
            cursor.execute(
                f'SELECT percent, message FROM "public"."{Job._meta.db_table}" WHERE id = %s',
                [str(job.pk)],
            )
            return cursor.fetchone()

    try:
        with transaction.atomic():
            report(40, "已记录 2/6 名学生的升级与毕业")
            # the work's transaction is still open: a poller sees the report already
            assert polled() == (40, "已记录 2/6 名学生的升级与毕业")
            report(70, "正在写入升级记录……")
            assert polled() == (70, "正在写入升级记录……")
        # outside a transaction the reporter writes on the task's own connection
        report(95, "正在更新学生索引……")
        assert polled() == (95, "正在更新学生索引……")
    finally:
        report.close()
        poller.close()
        Job.objects.filter(pk=job.pk).delete()


@pytest.mark.django_db
def test_the_dry_run_reports_progress_while_it_validates_a_small_file(world: World) -> None:
    from common.actor import Actor
    from tenant_apps.registry.imports import pipeline as imports
    from tenants.context import school_context

    data = _csv([valid_row(BASE + 10 + i) for i in range(60)])
    seen: list[tuple[int, str]] = []
    with school_context(world.a.schema):
        batch = imports.import_start(
            filename="学生.csv",
            data=data,
            actor=Actor("registrar", "学籍管理员", world.a.schema),
            owner_id=1,
        )
        imports.import_validate(batch_id=str(batch.pk), progress=lambda p, m: seen.append((p, m)))
    connection.set_schema_to_public()
    percents = [p for p, _ in seen]
    assert percents == sorted(percents), percents
    # 60 rows (under 2,000, the first import): the bar moves while the rows are
    # checked instead of sitting at 10 % until the report
    validating = [m for p, m in seen if 10 < p < 70]
    assert len(validating) >= 10, seen
    assert validating[0].startswith("已校验约 ")
