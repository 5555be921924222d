"""Job bookkeeping. Progress updates are single UPDATEs outside any task transaction so
that a polling page sees them while the work is still running.

A job ends once (succeeded or failed) and is never reopened: every write below touches
only an open job (pending or running), so a run that outlives its job (failed by the
sweep, then finished after all, or a message delivered again after its worker died)
changes nothing the user has already been shown.

When a run is lost (its worker process died and no retry is left, or the sweep finds
its heartbeat too old) `job_abandon` fails the job and lets the app that started it put
its own records back (an import's batch, a rollover) through the hook registered for
the job's kind (`job_kind_register`), in the schema of the job's owner and in the same
transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Concat, Left
from django.utils import timezone

from shared_apps.jobs.models import Job

logger = logging.getLogger(__name__)

OPEN = (Job.State.PENDING, Job.State.RUNNING)
MSG_LOST = "后台处理进程意外中断，任务没有完成。请重新开始。"
MSG_RETRYING = "后台处理进程意外中断，正在自动重试（第 {n} 次）……"


@dataclass(frozen=True)
class JobKind:
    """What a kind of job does when its run is lost: the message shown on the job, and
    `on_abandon(job_id, message)`, run in the owner's schema, which resets the app's own
    records so that the user can start again."""

    message: str = MSG_LOST
    on_abandon: Callable[[str, str], object] | None = None


_KINDS: dict[str, JobKind] = {}


def job_kind_register(
    kind: str, *, message: str = MSG_LOST, on_abandon: Callable[[str, str], object] | None = None
) -> None:
    _KINDS[kind] = JobKind(message=message, on_abandon=on_abandon)


def job_create(*, owner_id: int, kind: str, title: str) -> Job:
    return Job.objects.create(
        owner_schema=connection.schema_name, owner_id=owner_id, kind=kind, title=title
    )


def _open(job_id: uuid.UUID | str) -> QuerySet[Job]:
    return Job.objects.filter(pk=job_id, state__in=OPEN)


def job_start(*, job_id: uuid.UUID | str) -> bool:
    """A run (the first or a retry) takes the job: running, percent 0, a fresh heartbeat,
    one more attempt. False when the job has ended already; the run must then do nothing."""
    now = timezone.now()
    return bool(
        _open(job_id).update(
            state=Job.State.RUNNING,
            percent=0,
            attempts=F("attempts") + 1,
            heartbeat_at=now,
            updated_at=now,
        )
    )


def job_progress(*, job_id: uuid.UUID | str, percent: int, message: str = "") -> None:
    now = timezone.now()
    _open(job_id).update(
        state=Job.State.RUNNING,
        percent=max(0, min(100, percent)),
        message=message,
        heartbeat_at=now,
        updated_at=now,
    )


def job_beat(*, job_id: uuid.UUID | str) -> None:
    """The run is alive (it may be in a long step that reports no progress)."""
    _open(job_id).update(heartbeat_at=timezone.now())


def job_retrying(*, job_id: uuid.UUID | str, retry: int) -> None:
    """The run's worker process died and Celery sends it again: say so, from 0 %."""
    now = timezone.now()
    _open(job_id).update(
        percent=0, message=MSG_RETRYING.format(n=retry), heartbeat_at=now, updated_at=now
    )


def job_succeed(*, job_id: uuid.UUID | str, message: str, result_url: str = "") -> None:
    now = timezone.now()
    _open(job_id).update(
        state=Job.State.SUCCEEDED,
        percent=100,
        message=message,
        result_url=result_url,
        heartbeat_at=now,
        updated_at=now,
    )


def job_retell(*, job_id: uuid.UUID | str, message: str, append: bool = False) -> None:
    """A finished job's work was taken further by the user (an import confirmed, a
    rollover confirmed or undone): its message says what was finally done. With
    `append`, the message is added to what it says already (what a later step found:
    the import's near-key 查重). Only a succeeded job is rewritten; no ended job is ever
    reopened."""
    text = Left(Concat(F("message"), Value(message)), 300) if append else message[:300]
    Job.objects.filter(pk=job_id, state=Job.State.SUCCEEDED).update(
        message=text, updated_at=timezone.now()
    )


def job_fail(*, job_id: uuid.UUID | str, message: str) -> None:
    now = timezone.now()
    _open(job_id).update(
        state=Job.State.FAILED, message=message[:300], heartbeat_at=now, updated_at=now
    )


def job_abandon(
    *, job_id: uuid.UUID | str, message: str | None = None, stale_before: dt.datetime | None = None
) -> bool:
    """Fail an open job whose run is gone and reset what its kind left half-way, in one
    transaction. `message` defaults to the kind's; `stale_before` (the sweep) fails it only
    if its heartbeat is still older than that, so a run that just beat is left alone.
    Returns whether this call ended the job."""
    from tenants.context import school_context

    job = Job.objects.filter(pk=job_id).values("kind", "owner_schema").first()
    if job is None:
        return False
    kind = _KINDS.get(job["kind"], JobKind())
    text = (message or kind.message)[:300]
    now = timezone.now()
    with transaction.atomic():
        found = _open(job_id)
        if stale_before is not None:
            found = found.filter(heartbeat_at__lt=stale_before)
        if not found.update(state=Job.State.FAILED, message=text, updated_at=now):
            return False
        if kind.on_abandon is not None:
            with school_context(job["owner_schema"]):
                kind.on_abandon(str(job_id), text)
    logger.warning("job %s (%s) abandoned: %s", job_id, job["kind"], text)
    return True


def jobs_sweep_stale(*, now: dt.datetime | None = None) -> int:
    """Fail every open job nobody is running: running without a heartbeat for
    JOB_STALE_SECONDS, or still queued after JOB_QUEUED_SECONDS (its message was lost,
    e.g. with a Redis that keeps nothing). Returns how many were failed."""
    now = now or timezone.now()
    bound = {
        Job.State.RUNNING: now - dt.timedelta(seconds=settings.JOB_STALE_SECONDS),
        Job.State.PENDING: now - dt.timedelta(seconds=settings.JOB_QUEUED_SECONDS),
    }
    candidates = Job.objects.filter(
        Q(state=Job.State.RUNNING, heartbeat_at__lt=bound[Job.State.RUNNING])
        | Q(state=Job.State.PENDING, heartbeat_at__lt=bound[Job.State.PENDING])
    ).values_list("pk", "state")
    failed = 0
    for job_id, state in list(candidates):
        try:
            failed += job_abandon(job_id=job_id, stale_before=bound[state])  # type: ignore[index]
        except Exception:  # one school's broken schema must not stop the others' sweep
            logger.exception("job %s could not be swept", job_id)
    return failed


def heartbeat_seconds() -> float:
    return max(1.0, settings.JOB_STALE_SECONDS / 10)


@contextlib.contextmanager
def job_heartbeat(*, job_id: uuid.UUID | str) -> Iterator[None]:
    """Beat for the job from a thread while the block runs, so that a long step without
    progress reports is not taken for a dead run. The thread has its own database
    connection and closes it when the block ends."""
    stop = threading.Event()
    every = heartbeat_seconds()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    job_beat(job_id=job_id)
                except Exception:  # a blip: the next beat tries again
                    logger.warning("job %s: heartbeat failed", job_id, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"job-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)
