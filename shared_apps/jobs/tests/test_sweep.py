"""Jobs nobody runs any more end failed (issue 11, M6): the beat job's sweep, the reset
of what their kind left half-way (an import's batch, a rollover), the job API that the
progress bars poll, and a task that fails with its job still open."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from conftest import World, login
from tenants.context import school_context

pytestmark = pytest.mark.django_db


def _job(schema: str, kind: str, state: str, age: float, owner_id: int = 1):
    from shared_apps.jobs.models import Job

    return Job.objects.create(
        owner_schema=schema,
        owner_id=owner_id,
        kind=kind,
        title="测试任务",
        state=state,
        percent=10,
        heartbeat_at=timezone.now() - dt.timedelta(seconds=age),
    )


def _batch(job_id: uuid.UUID, state: str = "validating"):
    from tenant_apps.registry.models import ImportBatch

    return ImportBatch.objects.create(
        filename="stale.xlsx",
        fmt="xlsx",
        file_key="imports/x/upload.xlsx",
        job_id=job_id,
        state=state,
        created_by="学籍员",
    )


def test_the_beat_schedule_runs_the_sweep_every_minute() -> None:
    from shared_apps.jobs.tasks import jobs_sweep_stale_task

    entry = settings.CELERY_BEAT_SCHEDULE["jobs-sweep-stale"]
    assert entry["task"] == jobs_sweep_stale_task.name == "jobs.sweep_stale"
    assert entry["schedule"] <= 60  # type: ignore[operator]
    # a message taken by a worker that died comes back only after the longest task
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > (
        settings.CELERY_TASK_TIME_LIMIT
    )


def test_the_sweep_fails_stale_jobs_and_resets_their_batch(world: World) -> None:
    from shared_apps.jobs.models import Job
    from shared_apps.jobs.tasks import jobs_sweep_stale_task
    from tenant_apps.registry.imports.pipeline import MSG_VALIDATE_INTERRUPTED
    from tenant_apps.registry.models import ImportBatch

    stale = settings.JOB_STALE_SECONDS
    a = world.a.schema
    dead = _job(a, "student_import", "running", stale + 5)
    alive = _job(a, "student_import", "running", stale - 30)
    lost_in_queue = _job(a, "student_import", "pending", settings.JOB_QUEUED_SECONDS + 5)
    queued = _job(a, "student_import", "pending", stale + 5)  # waits for a busy worker
    done = _job(a, "student_import", "succeeded", stale + 5)
    with school_context(a):
        batches = {j.pk: _batch(j.pk).pk for j in (dead, alive, lost_in_queue, queued)}
    connection.set_schema_to_public()

    assert jobs_sweep_stale_task.apply().get() >= 2

    state = dict(
        Job.objects.filter(
            pk__in=[j.pk for j in (dead, alive, lost_in_queue, queued, done)]
        ).values_list("pk", "state")
    )
    assert state == {
        dead.pk: "failed",
        alive.pk: "running",
        lost_in_queue.pk: "failed",
        queued.pk: "pending",
        done.pk: "succeeded",
    }
    assert Job.objects.get(pk=dead.pk).message == MSG_VALIDATE_INTERRUPTED
    with school_context(a):
        reset = ImportBatch.objects.get(pk=batches[dead.pk])
        assert reset.state == ImportBatch.State.FAILED
        assert reset.counts == {"message": MSG_VALIDATE_INTERRUPTED}
        assert ImportBatch.objects.get(pk=batches[lost_in_queue.pk]).state == "failed"
        assert ImportBatch.objects.get(pk=batches[alive.pk]).state == "validating"
        assert ImportBatch.objects.get(pk=batches[queued.pk]).state == "validating"
    # a second sweep changes nothing of these
    connection.set_schema_to_public()
    jobs_sweep_stale_task.apply().get()
    assert Job.objects.get(pk=alive.pk).state == "running"


def test_a_swept_rollover_can_be_run_again(world: World) -> None:
    from shared_apps.jobs.models import Job
    from shared_apps.jobs.services import jobs_sweep_stale
    from tenant_apps.registry.lifecycle.rollover import MSG_RUN_INTERRUPTED
    from tenant_apps.registry.models.lifecycle import Rollover

    job = _job(world.a.schema, "rollover", "running", settings.JOB_STALE_SECONDS + 5)
    with school_context(world.a.schema):
        run = Rollover.objects.create(school_year=2019, job_id=job.pk, created_by="学籍员")
    connection.set_schema_to_public()
    assert jobs_sweep_stale() >= 1
    assert Job.objects.get(pk=job.pk).message == MSG_RUN_INTERRUPTED
    with school_context(world.a.schema):
        run.refresh_from_db()
    assert run.state == Rollover.State.FAILED
    assert run.message == MSG_RUN_INTERRUPTED


def test_the_progress_bar_s_api_shows_the_failure(world: World) -> None:
    from accounts.models import User
    from shared_apps.jobs.services import jobs_sweep_stale

    with school_context(world.a.schema):
        owner = User.objects.get(username="registrar").pk
    job = _job(world.a.schema, "student_import", "running", settings.JOB_STALE_SECONDS + 5, owner)
    jobs_sweep_stale()
    body = login(world.a.host, "registrar").get(f"/api/v1/jobs/{job.pk}/").json()
    # static/js/app.js stops polling on any state but pending/running and shows the message
    assert body["state"] == "failed"
    assert body["state_label"] == "失败"
    assert "请重新上传文件" in body["message"]


def test_a_run_after_its_job_ended_does_nothing_and_a_finished_job_stays_finished(
    world: World,
) -> None:
    from shared_apps.jobs.models import Job
    from shared_apps.jobs.services import job_progress, job_start, job_succeed
    from tenant_apps.registry.models import ImportBatch
    from tenant_apps.registry.tasks import import_validate_task

    job = _job(world.a.schema, "student_import", "failed", 0)
    with school_context(world.a.schema):
        batch = _batch(job.pk, state="failed")
        assert import_validate_task.apply(args=(str(batch.pk), str(job.pk))).get() == {}
        assert ImportBatch.objects.get(pk=batch.pk).state == "failed"
    assert job_start(job_id=job.pk) is False
    job_progress(job_id=job.pk, percent=50, message="x")
    job_succeed(job_id=job.pk, message="done")
    assert Job.objects.get(pk=job.pk).state == "failed"


def test_an_unexpected_error_in_the_dry_run_fails_the_job_and_resets_the_batch(
    world: World,
) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.imports.pipeline import MSG_VALIDATE_FAILED
    from tenant_apps.registry.models import ImportBatch
    from tenant_apps.registry.tasks import import_validate_task

    job = _job(world.a.schema, "student_import", "pending", 0)
    with school_context(world.a.schema):
        # the stored upload is gone: reading it raises, which no code expects
        batch = _batch(job.pk)
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the storage raises
            import_validate_task.apply(args=(str(batch.pk), str(job.pk))).get()
        reset = ImportBatch.objects.get(pk=batch.pk)
    assert reset.state == ImportBatch.State.FAILED
    assert reset.counts == {"message": MSG_VALIDATE_FAILED}
    failed = Job.objects.get(pk=job.pk)
    assert failed.state == "failed"
    assert failed.message == MSG_VALIDATE_FAILED
