"""A worker that dies mid-task (issue 11, M6): a real `celery worker` process (prefork,
one pool process) on the real Redis and the test database runs an import's dry run, and
the test kills it with SIGKILL.

- The pool process dies once: Celery sends the dry run again (retry_on_worker_lost), in
  the same school, and the batch ends ready with the exact report.
- The pool process dies on every attempt: after the last retry the job ends failed with
  a Chinese message and the batch is reset to 失败 with the same message.
- The whole worker dies: nothing in Celery runs; the sweep fails the job once its
  heartbeat is older than JOB_STALE_SECONDS and resets the batch; the message delivered
  again later does nothing.

The worker consumes its own queue, so that the in-process test worker of
test_celery_worker.py (a session fixture) never takes these tasks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from django.db import connection

from conftest import World
from tenants.context import school_context

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parent.parent
ROWS = 4000  # enough that the dry run is still validating when it is killed
STALE = 5  # JOB_STALE_SECONDS of the worker and of the sweep in these tests


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    queue: str
    log: Path

    def pool_pid(self) -> int:
        children = psutil.Process(self.proc.pid).children()
        assert len(children) == 1, children
        return children[0].pid


def _test_database_url() -> str:
    url = os.environ["DATABASE_URL"]
    base, _, query = url.partition("?")
    name = connection.settings_dict["NAME"]
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@contextlib.contextmanager
def _worker(tmp_path: Path) -> Iterator[Worker]:
    queue = f"lost-{uuid.uuid4().hex[:8]}"
    log = tmp_path / f"{queue}.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "JOB_STALE_SECONDS": str(STALE),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "prefork"]
            + ["-c", "1", "-Q", queue, "-n", f"{queue}@%h", "-l", "info"]
            + ["--without-mingle", "--without-gossip"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = Worker(proc, queue, log)
    try:
        deadline = time.monotonic() + 90
        while " ready." not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield worker
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            family = psutil.Process(proc.pid).children(recursive=True)
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for child in family:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()


@pytest.fixture(scope="module")
def workbook() -> bytes:
    from tenant_apps.registry.tests.factories import valid_row
    from tenant_apps.registry.tests.test_import_dry_run import _workbook

    return _workbook([valid_row(seq=12000 + i) for i in range(ROWS)])


@pytest.fixture
def own_queue() -> Iterator[None]:
    """Tasks sent from here go to the killed worker's queue only (the router reads the
    default queue on every send); put back afterwards. Celery builds its queue set from
    the default queue once, and a worker started later (the in-process one) consumes
    that set, so it is built before the change and left without the test's queues."""
    from config.celery import app

    before = app.conf.task_default_queue
    known = set(app.amqp.queues)
    assert app.amqp.default_queue.name == before
    yield
    app.conf.task_default_queue = before
    for name in set(app.amqp.queues) - known:
        del app.amqp.queues[name]


def _start_import(world: World, data: bytes, queue: str):
    from config.celery import app

    from common.actor import Actor
    from tenant_apps.registry.imports import pipeline as imports

    app.conf.task_default_queue = queue  # see own_queue
    with school_context(world.a.schema):
        return imports.import_start(
            filename="lost.xlsx",
            data=data,
            actor=Actor("registrar", "学籍员", world.a.schema),
            owner_id=1,
        )


def _job(job_id: object) -> dict[str, object]:
    from shared_apps.jobs.models import Job

    connection.set_schema_to_public()
    return Job.objects.filter(pk=job_id).values()[0]  # type: ignore[misc,return-value]


def _wait(what: str, check, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _kill_mid_run(job_id: object, attempt: int, pid_of) -> None:
    """SIGKILL once attempt `attempt` has read the file and is validating the rows."""
    from shared_apps.jobs.models import Job

    def validating() -> bool:
        job = _job(job_id)
        assert job["state"] != Job.State.SUCCEEDED, "the dry run finished before the kill"
        return job["attempts"] == attempt and job["percent"] >= 10  # type: ignore[operator]

    _wait(f"attempt {attempt}", validating)
    os.kill(pid_of(), signal.SIGKILL)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _batch(schema: str, batch_id: object) -> dict[str, object]:
    from tenant_apps.registry.models import ImportBatch

    with school_context(schema):
        return ImportBatch.objects.filter(pk=batch_id).values()[0]  # type: ignore[misc,return-value]


@pytest.fixture
def clean(live_db: World) -> Iterator[World]:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.models import ImportBatch, Student

    with school_context(live_db.a.schema):
        students = Student.objects.count()
    yield live_db
    with school_context(live_db.a.schema):
        # nothing half-written: the dry run never touches students
        assert Student.objects.count() == students
        for b in ImportBatch.objects.filter(filename="lost.xlsx"):
            Job.objects.filter(pk=b.job_id).delete()  # type: ignore[misc]
            b.delete()
    connection.set_schema_to_public()


def test_a_lost_pool_process_is_retried_and_the_dry_run_ends_ready(
    clean: World,
    workbook: bytes,
    tmp_path: Path,
    own_queue: None,
) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.models import ImportBatch

    with _worker(tmp_path) as worker:
        batch = _start_import(clean, workbook, worker.queue)
        _kill_mid_run(batch.job_id, 1, worker.pool_pid)
        _wait("the retry to finish", lambda: _job(batch.job_id)["state"] != Job.State.RUNNING)
        log = worker.log.read_text(errors="replace")

    job, done = _job(batch.job_id), _batch(clean.a.schema, batch.pk)
    assert job["state"] == Job.State.SUCCEEDED, (job, log)
    assert job["attempts"] == 2
    assert "WorkerLostError" in log
    assert "retry" in log
    # the retry ran in school A (its batch is there) and reported exactly
    assert done["state"] == ImportBatch.State.READY
    assert done["counts"]["total"] == ROWS  # type: ignore[index]
    assert done["counts"]["valid"] == ROWS  # type: ignore[index]
    assert done["payload_key"]


def test_a_pool_process_lost_on_every_attempt_fails_the_job_and_resets_the_batch(
    clean: World,
    workbook: bytes,
    tmp_path: Path,
    own_queue: None,
) -> None:
    from shared_apps.jobs.models import Job
    from tenant_apps.registry.imports.pipeline import MSG_VALIDATE_INTERRUPTED
    from tenant_apps.registry.models import ImportBatch

    with _worker(tmp_path) as worker:
        batch = _start_import(clean, workbook, worker.queue)
        for attempt in (1, 2, 3):  # the first run and both retries
            _kill_mid_run(batch.job_id, attempt, worker.pool_pid)
        _wait("the job to end", lambda: _job(batch.job_id)["state"] != Job.State.RUNNING, 60)

    job, reset = _job(batch.job_id), _batch(clean.a.schema, batch.pk)
    assert job["state"] == Job.State.FAILED
    assert job["message"] == MSG_VALIDATE_INTERRUPTED
    assert job["attempts"] == 3
    assert reset["state"] == ImportBatch.State.FAILED
    assert reset["counts"] == {"message": MSG_VALIDATE_INTERRUPTED}
    assert not reset["payload_key"]


def test_a_dead_worker_s_job_is_failed_by_the_sweep_and_its_message_later_does_nothing(
    clean: World,
    workbook: bytes,
    tmp_path: Path,
    own_queue: None,
    settings,
) -> None:
    from shared_apps.jobs.models import Job
    from shared_apps.jobs.services import jobs_sweep_stale
    from tenant_apps.registry.imports.pipeline import MSG_VALIDATE_INTERRUPTED
    from tenant_apps.registry.models import ImportBatch
    from tenant_apps.registry.tasks import import_validate_task

    settings.JOB_STALE_SECONDS = STALE
    with _worker(tmp_path) as worker:
        batch = _start_import(clean, workbook, worker.queue)
        pool = psutil.Process(worker.pool_pid())
        _kill_mid_run(batch.job_id, 1, lambda: worker.proc.pid)
        worker.proc.wait(timeout=10)
        # the pool process goes with it (Celery sets PDEATHSIG)
        _wait("the pool process to die", lambda: not _alive(pool), 10)

        # a job that beat recently is left alone; once its heartbeat is older than the
        # bound the sweep fails it
        jobs_sweep_stale()
        assert _job(batch.job_id)["state"] == Job.State.RUNNING
        beat = _job(batch.job_id)["heartbeat_at"]
        time.sleep(max(0.0, STALE + 0.5 - (dt.datetime.now(dt.UTC) - beat).total_seconds()))  # type: ignore[operator]
        assert jobs_sweep_stale() >= 1

    job, reset = _job(batch.job_id), _batch(clean.a.schema, batch.pk)
    assert job["state"] == Job.State.FAILED
    assert job["message"] == MSG_VALIDATE_INTERRUPTED
    assert reset["state"] == ImportBatch.State.FAILED
    assert reset["counts"] == {"message": MSG_VALIDATE_INTERRUPTED}

    # The unacknowledged message comes back after the visibility timeout; that run finds
    # its job ended and leaves everything as the user was told.
    with school_context(clean.a.schema):
        assert import_validate_task.apply(args=(str(batch.pk), str(batch.job_id))).get() == {}
    assert _job(batch.job_id)["state"] == Job.State.FAILED
    assert _batch(clean.a.schema, batch.pk)["state"] == ImportBatch.State.FAILED
