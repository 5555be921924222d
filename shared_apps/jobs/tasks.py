"""The Celery side of jobs: the sweep, and what every task that takes a `job_id`
argument gets from the worker without asking.

- While it runs, a thread beats for its job (services.job_heartbeat), so the sweep can
  tell a long step from a dead process.
- When its pool process dies and the task is retried (`retry_on_worker_lost`, set on
  the idempotent tasks), the job says so and starts again from 0 %.
- When it fails for good, in the task or in the worker's main process that saw its pool
  process die (WorkerLostError once the retries are used up, a hard time limit), the job
  is failed and its kind's records are reset (services.job_abandon), unless the task
  ended the job itself.
- If the whole worker dies nothing runs here; the beat job `jobs.sweep_stale` fails the
  job once its heartbeat is older than JOB_STALE_SECONDS.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from typing import Any

from celery import shared_task
from celery.exceptions import WorkerLostError
from celery.signals import task_failure, task_postrun, task_prerun, task_retry

logger = logging.getLogger(__name__)

_beating: dict[str, contextlib.ExitStack] = {}


@shared_task(name="jobs.sweep_stale")
def jobs_sweep_stale_task() -> int:
    """Beat, every minute: fail the open jobs that no worker runs any more."""
    from shared_apps.jobs.services import jobs_sweep_stale

    return jobs_sweep_stale()


def _job_id(task: Any, args: Any, kwargs: Any) -> str | None:
    """The task's `job_id` argument, however it was passed; None for tasks without one."""
    run = getattr(task, "run", None)
    if run is None:
        return None
    try:
        bound = inspect.signature(run).bind_partial(*(args or ()), **(kwargs or {}))
    except (TypeError, ValueError):
        return None
    value = bound.arguments.get("job_id")
    return str(value) if value else None


@task_prerun.connect(dispatch_uid="jobs.heartbeat_start")
def _heartbeat_start(
    task_id: str = "", task: Any = None, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    # Eager tasks run inside the caller (a request, a test transaction): no thread.
    if task is None or task.request.is_eager:
        return
    job_id = _job_id(task, args, kwargs)
    if job_id is None:
        return
    from shared_apps.jobs.services import job_heartbeat

    stack = contextlib.ExitStack()
    stack.enter_context(job_heartbeat(job_id=job_id))
    _beating[task_id] = stack


@task_postrun.connect(dispatch_uid="jobs.heartbeat_stop")
def _heartbeat_stop(task_id: str = "", **_: Any) -> None:
    stack = _beating.pop(task_id, None)
    if stack is not None:
        stack.close()


@task_retry.connect(dispatch_uid="jobs.retrying")
def _job_retrying(sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
    if request is None or not isinstance(getattr(reason, "exc", None), WorkerLostError):
        return
    job_id = _job_id(sender, request.args, request.kwargs)
    if job_id is not None:
        from shared_apps.jobs.services import job_retrying

        job_retrying(job_id=job_id, retry=int(request.retries or 0) + 1)


@task_failure.connect(dispatch_uid="jobs.failed")
def _job_failed(
    sender: Any = None, exception: Any = None, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    job_id = _job_id(sender, args, kwargs)
    if job_id is None:
        return
    from shared_apps.jobs.services import job_abandon

    # A job its task failed already keeps the task's own message; this ends the rest.
    if job_abandon(job_id=job_id):
        logger.warning("task %s ended without its job: %r", getattr(sender, "name", ""), exception)
