"""Progress reports that a polling page sees even while the work runs inside one long
transaction (the rollover's write, a restore): `job_progress` on the task's own
connection would stay invisible until that transaction commits, so inside an atomic
block the update goes through a short-lived second connection in autocommit."""

from __future__ import annotations

import uuid

from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from shared_apps.jobs.models import Job
from shared_apps.jobs.services import OPEN, job_progress


class JobReporter:
    """A progress callback for one job; `close()` ends the second connection if one was
    opened (the tasks call it when the work is over, failed or not)."""

    def __init__(self, job_id: uuid.UUID | str) -> None:
        self.job_id = str(job_id)
        self._side: BaseDatabaseWrapper | None = None

    def __call__(self, percent: int, message: str) -> None:
        if not connection.in_atomic_block:
            job_progress(job_id=self.job_id, percent=percent, message=message)
            return
        if self._side is None:
            self._side = connections.create_connection("default")
        table = f'"public"."{Job._meta.db_table}"'
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET state = %s, percent = %s, message = %s,"  # noqa: S608 - the model's own table
                " heartbeat_at = now(), updated_at = now() WHERE id = %s AND state = ANY(%s)",
                [
                    Job.State.RUNNING,
                    max(0, min(100, percent)),
                    message[:300],
                    self.job_id,
                    list(OPEN),
                ],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None
