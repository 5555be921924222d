"""Celery options shared by the apps' tasks (the apps declare tasks with `shared_task`, so
that no app imports the Celery application in platform/config, the top layer).
"""

from typing import Any

# Options of a task that is safe to run again (issue 11, M6). Acked only once done, so a
# message taken by a worker that died as a whole returns to the queue (after the broker's
# visibility timeout); when only its pool process dies Celery sends it again at once
# (retry_on_worker_lost, in the sender's school: the schema header is kept), twice at
# most, 5 s later rather than Celery's three minutes while the user watches the progress
# bar. After the last loss the task fails, and so does its job (shared_apps.jobs.tasks).
RERUN_IF_WORKER_LOST: dict[str, Any] = {
    "acks_late": True,
    "retry_on_worker_lost": True,
    "max_retries": 2,
    "default_retry_delay": 5,
}
