"""Dumps: a school's schema or the whole database, streamed into storage with its
size and SHA-256 (`SchoolBackup`); pruning of old nightly dumps."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from shared_apps.backups.base import (
    BACKUP_DIR,
    FULL_DIR,
    LOCK_WAIT,
    MSG_DUMP_FAILED,
    MSG_DUMPED,
    MSG_NOT_FOUND,
    MSG_NOT_READY,
    MSG_SCHOOL_NOT_FOUND,
    MSG_STORING,
    BackupError,
    Progress,
)
from shared_apps.backups.models import SchoolBackup
from shared_apps.backups.pgtools import _checked_schema, _tail, pg_env, pg_tool
from tenants.context import school_context
from tenants.models import School
from tenants.storage import key_prefix

logger = logging.getLogger(__name__)


CHUNK = 1024 * 1024  # bytes read from pg_dump per step (progress and hashing)


@dataclass(frozen=True)
class Dumped:
    key: str  # full object key, platform/backups/...
    size: int
    sha256: str
    seconds: float


def _dump_to_storage(
    args: list[str],
    name: str,
    *,
    progress: Progress | None = None,
    expected: int = 0,
) -> Dumped:
    """Run pg_dump with `args`, hashing its output on the way into a temporary file, then
    store it under `name` in the public storage. Returns the object key actually used.

    `progress` hears 10 → 85 % as the output arrives, measured against `expected` bytes
    (an estimate: the school's previous dump), then 90 % while the file is stored."""
    started = time.monotonic()
    digest, size = hashlib.sha256(), 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(  # noqa: S603 - fixed tool, arguments built here
            [pg_tool("pg_dump"), "--no-password", f"--lock-wait-timeout={LOCK_WAIT}", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            env=pg_env(),
        )
        assert proc.stdout is not None
        try:
            for chunk in iter(lambda: proc.stdout.read(CHUNK), b""):  # type: ignore[union-attr]
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
                if progress is not None:
                    share = min(size / expected, 1.0) if expected else 0.0
                    progress(10 + int(75 * share), MSG_DUMPED.format(mb=size / 1024 / 1024))
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if proc.wait() != 0:
            logger.error("pg_dump failed (%s): %s", proc.returncode, _tail(err))
            raise BackupError(MSG_DUMP_FAILED, code="dump_failed")
        out.seek(0)
        if progress is not None:
            progress(90, MSG_STORING.format(mb=size / 1024 / 1024))
        with school_context("public"):
            saved = default_storage.save(name, File(out, name=os.path.basename(name)))
    return Dumped(
        key=f"{key_prefix('public')}/{saved}",
        size=size,
        sha256=digest.hexdigest(),
        seconds=time.monotonic() - started,
    )


def files_name(key: str) -> str:
    """The name of a backup's stored files (the school's photos) next to its dump: the
    dump's own unguessable name with .files.zip for .dump."""
    name = storage_name(key)
    return (name[: -len(".dump")] if name.endswith(".dump") else name) + ".files.zip"


def _files_to_storage(*, schema: str, dump_key: str) -> int:
    """The school's stored objects (photos) as a ZIP next to the dump; how many. The
    dump alone would restore rows naming objects that a restore into a new school (or a
    deleted object) lacks."""
    from tenant_apps.registry.facade import school_files_archive

    with tempfile.TemporaryFile() as out:
        count = school_files_archive(schema_name=schema, into=out)
        out.seek(0)
        with school_context("public"):
            # At exactly the name files_name() gives (the dump's random part is in it).
            default_storage._save(files_name(dump_key), File(out))  # type: ignore[attr-defined]
    return count


def storage_name(key: str) -> str:
    """The name of a backup's object inside the public storage (key minus platform/)."""
    prefix = key_prefix("public") + "/"
    if not key.startswith(prefix):
        raise BackupError(MSG_NOT_FOUND, code="not_found")
    return key[len(prefix) :]


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _schema_bytes(schema: str) -> int:
    """The schema's tables on disk: the first dump's size estimate (custom format is
    compressed, about an eighth of that here)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r'",
            [schema],
        )
        return int(cursor.fetchone()[0])


def school_backup(
    *, school_id: int, kind: str, created_by: str = "", progress: Progress | None = None
) -> SchoolBackup:
    """Dump one school's schema (and nothing else) to storage and record it.

    Runs from any context: the storage key is always written from public, so it lands
    under platform/backups/<schema>/ whichever host asked.
    """
    if kind not in SchoolBackup.Kind.values:
        raise ValueError(kind)
    with school_context("public"):
        row = (
            School.objects.schools()
            .filter(pk=school_id)
            .values_list("schema_name", "provisioning")
            .first()
        )
        if row is None:
            raise BackupError(MSG_SCHOOL_NOT_FOUND, code="not_found")
        if row[1] != School.Provisioning.READY:
            raise BackupError(MSG_NOT_READY, code="not_ready")
        schema = _checked_schema(row[0])
        started = timezone.now()
        if progress:
            progress(10, "正在导出学校数据……")
        # The previous dump's size is the best guess of this one's (the same school).
        expected = (
            SchoolBackup.objects.filter(school_id=school_id)
            .order_by("-created_at")
            .values_list("size", flat=True)
            .first()
        )
        dumped = _dump_to_storage(
            ["--format=custom", "--no-owner", "--no-privileges", f"--schema={schema}"],
            f"{BACKUP_DIR}/{schema}/{_stamp(started)}.dump",
            progress=progress,
            expected=int(expected or 0) or _schema_bytes(schema) // 8,
        )
        try:
            files = _files_to_storage(schema=schema, dump_key=dumped.key)
            backup = SchoolBackup.objects.create(
                school_id=school_id,
                key=dumped.key,
                size=dumped.size,
                sha256=dumped.sha256,
                kind=kind,
                created_by=created_by[:150],
                created_at=started,
            )
        except Exception:
            default_storage.delete(storage_name(dumped.key))
            default_storage.delete(files_name(dumped.key))
            raise
    logger.info(
        "backup of %s: %s bytes in %.2f s, %s stored files",
        schema,
        dumped.size,
        dumped.seconds,
        files,
    )
    return backup


def platform_backup() -> Dumped:
    """The whole database (public and every school) in one custom-format dump under
    platform/backups/_full/. Needs max_locks_per_transaction ≥ 256 at hundreds of schools."""
    name = f"{BACKUP_DIR}/{FULL_DIR}/{_stamp(timezone.now())}.dump"
    dumped = _dump_to_storage(["--format=custom", "--no-owner", "--no-privileges"], name)
    logger.info("platform backup: %s bytes in %.2f s", dumped.size, dumped.seconds)
    return dumped


def backups_prune(*, keep_days: int | None = None) -> int:
    """Delete nightly backups older than BACKUP_KEEP_DAYS, objects and rows. Each school's
    newest backup is always kept, so a school that stopped being backed up (suspended)
    never loses its last one. Manual backups are never pruned."""
    days = settings.BACKUP_KEEP_DAYS if keep_days is None else keep_days
    cutoff = timezone.now() - dt.timedelta(days=days)
    removed = 0
    with school_context("public"):
        newest = dict(
            SchoolBackup.objects.order_by("school_id", "-created_at", "-id")
            .distinct("school_id")
            .values_list("school_id", "id")
        )
        old = SchoolBackup.objects.filter(
            kind=SchoolBackup.Kind.NIGHTLY, created_at__lt=cutoff
        ).exclude(pk__in=newest.values())
        for backup_id, key in list(old.values_list("id", "key")):
            default_storage.delete(storage_name(key))
            default_storage.delete(files_name(key))
            SchoolBackup.objects.filter(pk=backup_id).delete()
            removed += 1
    return removed
