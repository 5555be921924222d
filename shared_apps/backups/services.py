"""Backups of one school (its schema) and of the whole platform; restores of a school.

A school's backup is `pg_dump --format=custom --no-owner --no-privileges --schema=<schema>`
kept in storage under the public prefix, platform/backups/<schema>/<UTC time>-<random>.dump
(the random part from tenants.storage, so no dump is found by guessing its time), with
its size and SHA-256 recorded in `SchoolBackup`. The whole database goes to
platform/backups/_full/. Restores run the dump through `pg_restore -f -` into ONE `psql`
transaction, so a failure at any step leaves the database as it was:

* into the same school: the live schema is renamed aside, the dump re-creates it, its
  django_migrations must equal the live one's, the audit log is carried over from the
  live copy (a restore rolls back the school's data, never the proof of what was done:
  the restored log ends up equal to the live one, plus an entry for the restore), then
  the old copy is dropped;
* into a new school (for inspection): the dump's schema name is rewritten to the new
  school's, which is registered without cloning the template and left suspended.

On a Citus cluster the dump's DDL cannot be replayed; `citus_restore` builds the schema by
migrations and loads only the rows, with the same one-transaction swap and audit carry.

The PostgreSQL client tools must match the server's major version (`pg_bin_dir`).

The parts, by concern: `pgtools` (client tools), `dump` (backups and pruning),
`dumpfile` (schema rewrite, download, psql restore), `restore_audit`, `restore`,
`index_resync`; this module is the public entry: the jobs the pages and APIs start,
and the names the rest of the code uses.
"""

from __future__ import annotations

from django.db import transaction

from common.exceptions import ApplicationError
from common.normalize import normalize_digits
from shared_apps.backups.base import MSG_CONFIRM_CODE, MSG_NOT_FOUND, MSG_TARGET, BackupError
from shared_apps.backups.dump import (
    Dumped,
    backups_prune,
    platform_backup,
    school_backup,
    storage_name,
)
from shared_apps.backups.dumpfile import BackupInfo, backup_download, dump_schemas, schema_rewrite
from shared_apps.backups.pgtools import _tool_major, pg_bin_dir, pg_env, pg_tool, server_major
from shared_apps.backups.restore import Restored, restore_new_check, school_restore
from shared_apps.backups.selectors import backup_of
from shared_apps.jobs.models import Job
from shared_apps.jobs.services import job_create
from tenants.models import School

__all__ = [
    "BackupError",
    "BackupInfo",
    "Dumped",
    "Restored",
    "_tool_major",
    "backup_download",
    "backup_start",
    "backups_prune",
    "dump_schemas",
    "pg_bin_dir",
    "pg_env",
    "pg_tool",
    "platform_backup",
    "restore_new_check",
    "restore_start",
    "schema_rewrite",
    "school_backup",
    "school_restore",
    "server_major",
    "storage_name",
]


# -- jobs for the pages and APIs ----------------------------------------------------


def backup_start(*, school: School, user_id: int, created_by: str) -> Job:
    """Job + backup task (sent after commit); the caller has checked access."""
    from shared_apps.backups.tasks import school_backup_task

    job = job_create(owner_id=user_id, kind="school_backup", title=f"备份学校：{school.name}")
    school_id, job_id = school.pk, str(job.pk)
    transaction.on_commit(lambda: school_backup_task.delay(school_id, "manual", created_by, job_id))
    return job


def restore_start(
    *,
    school: School,
    backup_id: int,
    target: str,
    user_id: int,
    confirm_code: str = "",
    new_code: str = "",
    new_slug: str = "",
    new_name: str = "",
) -> Job:
    """Check what can be checked now, then a job + restore task (sent after commit)."""
    from shared_apps.backups.tasks import school_restore_task

    if backup_of(school_id=school.pk, backup_id=backup_id) is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if target == "same":
        if normalize_digits(confirm_code).strip() != school.code:
            raise ApplicationError(
                MSG_CONFIRM_CODE, code="invalid", extra={"confirm_code": [MSG_CONFIRM_CODE]}
            )
        title = f"恢复到本校：{school.name}"
    elif target == "new":
        restore_new_check(code=new_code, slug=new_slug, name=new_name, county_id=school.county_id)
        title = f"恢复为新学校：{new_name.strip()[:60]}"
    else:
        raise ApplicationError(MSG_TARGET, code="invalid")
    job = job_create(owner_id=user_id, kind="school_restore", title=title)
    job_id = str(job.pk)
    transaction.on_commit(
        lambda: school_restore_task.delay(
            backup_id, target, user_id, new_code, new_slug, new_name, job_id
        )
    )
    return job
