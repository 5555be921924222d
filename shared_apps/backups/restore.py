"""Restores of one school: into the same school (the live schema renamed aside, then
dropped) or into a new, suspended school for inspection; one transaction each."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_exists

from accounts.models import User
from common.exceptions import ApplicationError
from shared_apps.backups.base import (
    LOCK_WAIT,
    MSG_FOREIGN_SCHEMA,
    MSG_NEW_FIELDS,
    MSG_NOT_FOUND,
    MSG_SCHOOL_NOT_FOUND,
    MSG_TARGET,
    BackupError,
    Progress,
)
from shared_apps.backups.citus_restore import restore_new_on_citus, restore_same_on_citus
from shared_apps.backups.dumpfile import (
    BackupInfo,
    _backup_info,
    _migrations_equal_sql,
    _migrations_known_sql,
    _psql_restore,
    _quote,
    backup_download,
    dump_schemas,
)
from shared_apps.backups.index_resync import _claims_resync, _index_resync
from shared_apps.backups.pgtools import _checked_schema
from shared_apps.backups.restore_audit import RestoreAuditEntry, _audit_carry_sql
from tenants.citus import citus_enabled
from tenants.context import school_context
from tenants.models import Domain, School
from tenants.services import TEMPLATE_SCHEMA, SchoolInput, school_register, school_stats_refresh
from tenants.services import _advisory_key as provisioning_lock_key

logger = logging.getLogger(__name__)


class _AdvisoryLock:
    """The lock school_provision takes, so a restore never races a (re)provisioning."""

    def __init__(self, schema: str):
        self.key = provisioning_lock_key(schema)

    def __enter__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [self.key])

    def __exit__(self, *exc: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])


@dataclass(frozen=True)
class Restored:
    school_id: int
    schema_name: str
    host: str
    target: str
    backup_at: dt.datetime
    seconds: float


def _acting_scope_check(acting_user: User | None, school_id: int) -> None:
    """Bureau staff only for schools of their region (shared_apps.bureau.selectors);
    acting_user None is the platform itself (management commands)."""
    if acting_user is None:
        return
    from shared_apps.bureau.selectors import access_school

    with school_context("public"):
        if access_school(user=acting_user, school_id=school_id) is None:
            raise BackupError(MSG_NOT_FOUND, code="not_found")


def _pre_restore_name(schema: str) -> str:
    return f"{schema}_pre_restore_{timezone.now().astimezone(dt.UTC):%Y%m%d%H%M%S}"


def _stats_refresh(schema: str) -> None:
    with school_context(schema):
        school_stats_refresh()


def _files_download(backup: BackupInfo, path: Path) -> Path | None:
    """The backup's stored files (photos) into `path`; None for a backup made before
    they were kept (its dump alone is restored, as it always was)."""
    from django.core.files.storage import default_storage

    from shared_apps.backups.dump import files_name

    name = files_name(backup.key)
    with school_context("public"):
        if not default_storage.exists(name):
            return None
        with default_storage.open(name, "rb") as src, path.open("wb") as out:
            for chunk in iter(lambda: src.read(1024 * 1024), b""):
                out.write(chunk)
    return path


def _files_restore(schema: str, files: Path | None) -> None:
    """Put the backup's objects the school's storage lacks back (never overwriting);
    under the caller's files_guard, so a failed restore removes them again."""
    from tenant_apps.registry.facade import school_files_restore

    if files is None:
        return
    with files.open("rb") as archive:
        school_files_restore(schema_name=schema, archive=archive)


def _restore_same(
    *,
    backup: BackupInfo,
    dump: Path,
    files: Path | None,
    audit: RestoreAuditEntry,
    progress: Progress | None,
) -> Restored:
    from tenant_apps.registry.facade import files_guard

    with files_guard():
        return _restore_same_run(
            backup=backup, dump=dump, files=files, audit=audit, progress=progress
        )


def _restore_same_run(
    *,
    backup: BackupInfo,
    dump: Path,
    files: Path | None,
    audit: RestoreAuditEntry,
    progress: Progress | None,
) -> Restored:
    started = time.monotonic()
    schema = _checked_schema(backup.schema_name)
    with school_context("public"):
        school = (
            School.objects.schools()
            .filter(pk=backup.school_id, provisioning=School.Provisioning.READY)
            .values_list("id", flat=True)
            .first()
        )
        if school is None or not schema_exists(schema):
            raise BackupError(MSG_SCHOOL_NOT_FOUND, code="not_found")
        aside = _pre_restore_name(schema)
        if progress:
            progress(30, "正在恢复学生照片……")
        # Before the data: objects only ever added, so the live school loses nothing if
        # the data's restore then fails (files_guard removes them again).
        _files_restore(schema, files)
        if progress:
            progress(40, "正在恢复学校数据……")
        with _AdvisoryLock(schema):
            if citus_enabled():
                restore_same_on_citus(
                    dump=dump, source=schema, schema=schema, aside=aside, audit=audit
                )
            else:
                _psql_restore(
                    dump=dump,
                    before=[
                        f"SET lock_timeout = '{LOCK_WAIT}'",
                        f"ALTER SCHEMA {_quote(schema)} RENAME TO {_quote(aside)}",
                    ],
                    after=[
                        _migrations_equal_sql(schema, aside),
                        "SET LOCAL standard_conforming_strings = on",
                        *_audit_carry_sql(live=aside, restored=schema),
                        audit.insert_sql(schema),
                        f"SET lock_timeout = '{LOCK_WAIT}'",
                        f"DROP SCHEMA {_quote(aside)} CASCADE",
                    ],
                    rename=None,
                )
        swapped = time.monotonic()
        if progress:
            progress(85, "正在更新学生索引和统计……")
        _index_resync(school_id=backup.school_id, schema=schema, progress=progress)
        _claims_resync(school_id=backup.school_id, schema=schema)
        _stats_refresh(schema)
        logger.info(
            "restore of %s: schema swapped in %.2f s, index and stats in %.2f s",
            schema,
            swapped - started,
            time.monotonic() - swapped,
        )
        host = (
            Domain.objects.filter(tenant_id=backup.school_id, is_primary=True)
            .values_list("domain", flat=True)
            .first()
        )
    return Restored(
        school_id=backup.school_id,
        schema_name=schema,
        host=host or "",
        target="same",
        backup_at=backup.created_at,
        seconds=time.monotonic() - started,
    )


def _restore_new(
    *,
    backup: BackupInfo,
    dump: Path,
    files: Path | None,
    new_code: str,
    new_slug: str,
    new_name: str,
    audit: RestoreAuditEntry,
    progress: Progress | None,
) -> Restored:
    started = time.monotonic()
    with school_context("public"):
        source = (
            School.objects.schools()
            .filter(pk=backup.school_id)
            .values("county_id", "stages", "address", "principal", "phone")
            .first()
        )
        if source is None:
            raise BackupError(MSG_SCHOOL_NOT_FOUND, code="not_found")
        with transaction.atomic():
            registered = school_register(
                data=SchoolInput(
                    name=new_name,
                    code=new_code,
                    slug=new_slug,
                    county_code=(source["county_id"] or "")[:6],
                    stages=list(source["stages"]),
                    address=source["address"],
                    principal=source["principal"],
                    phone=source["phone"],
                ),
                scope=None,
            )
            # For inspection only: suspended from the start, so nobody uses it by accident.
            School.objects.filter(pk=registered.school_id).update(status=School.Status.SUSPENDED)
        schema = _checked_schema(registered.schema_name)
        from tenant_apps.registry.facade import files_delete, files_guard

        saved: list[tuple[str, str]] = []
        try:
            if progress:
                progress(40, "正在恢复为新学校……")
            with _AdvisoryLock(schema):
                if citus_enabled():
                    restore_new_on_citus(
                        dump=dump, source=_checked_schema(backup.schema_name), schema=schema
                    )
                else:
                    _psql_restore(
                        dump=dump,
                        before=[],
                        after=[_migrations_known_sql(schema)],
                        rename=(_checked_schema(backup.schema_name), schema),
                    )
                if progress:
                    progress(80, "正在检查数据库结构……")
                if _migrations(schema) != _migrations(TEMPLATE_SCHEMA):
                    call_command(
                        "migrate_schemas",
                        schema_name=schema,
                        tenant=True,
                        executor="standard",
                        interactive=False,
                        verbosity=0,
                    )
                    connection.set_schema_to_public()
                with school_context(schema):
                    # The copy keeps the source's log as it was at the backup; it starts
                    # with a note of where it came from and who made it.
                    from accounts.models import AuditEntry

                    AuditEntry.objects.create(**audit.values(schema))
                # The photos at their keys under the new school's prefix; removed with
                # the school if anything below fails.
                with files_guard() as saved:
                    _files_restore(schema, files)
                School.objects.filter(pk=registered.school_id).update(
                    provisioning=School.Provisioning.READY
                )
            _stats_refresh(schema)
        except Exception:
            _school_discard(school_id=registered.school_id, schema=schema)
            files_delete(saved)
            raise
    return Restored(
        school_id=registered.school_id,
        schema_name=schema,
        host=registered.host,
        target="new",
        backup_at=backup.created_at,
        seconds=time.monotonic() - started,
    )


def _migrations(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {_quote(schema)}.django_migrations")  # noqa: S608
        return {(app, name) for app, name in cursor.fetchall()}


def _school_discard(*, school_id: int, schema: str) -> None:
    """Undo a failed restore into a new school: it never served, so nothing is lost."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE")
    Domain.objects.filter(tenant_id=school_id).delete()
    School.objects.filter(pk=school_id, kind=School.Kind.SCHOOL).delete()


def school_restore(
    *,
    backup_id: int,
    target: str,
    acting_user: User | None,
    new_code: str = "",
    new_slug: str = "",
    new_name: str = "",
    progress: Progress | None = None,
) -> Restored:
    """Restore a backup into its own school ("same") or into a new, suspended school
    registered for inspection ("new"). Either the whole restore happens or nothing does.

    The school's audit log is not rolled back: "same" keeps every entry written since the
    backup (and the retention's deletions), and both targets record the restore itself
    (action "restore") in the restored school's log, in the same transaction for "same".

    `acting_user` is a public-schema user whose region must cover the backup's school;
    None means the platform itself (management commands). Must not run inside a
    transaction: psql works on its own connection while this one holds the lock.
    """
    if target not in {"same", "new"}:
        raise BackupError(MSG_TARGET, code="invalid")
    if target == "new" and not (new_code.strip() and new_slug.strip() and new_name.strip()):
        raise BackupError(MSG_NEW_FIELDS, code="invalid")
    backup = _backup_info(backup_id)
    _acting_scope_check(acting_user, backup.school_id)
    if connection.in_atomic_block:
        raise RuntimeError("school_restore must not run inside a transaction")
    with tempfile.TemporaryDirectory(prefix="xueji-restore-") as tmp:
        dump = Path(tmp) / "school.dump"
        if progress:
            progress(10, "正在读取备份文件……")
        with dump.open("wb") as f:
            backup_download(backup, f)
        if dump_schemas(dump) != {backup.schema_name}:
            raise BackupError(MSG_FOREIGN_SCHEMA, code="foreign_schema")
        files = _files_download(backup, Path(tmp) / "files.zip")
        audit = RestoreAuditEntry.of(acting_user, backup, target)
        if target == "same":
            restored = _restore_same(
                backup=backup, dump=dump, files=files, audit=audit, progress=progress
            )
        else:
            restored = _restore_new(
                backup=backup,
                audit=audit,
                dump=dump,
                files=files,
                new_code=new_code,
                new_slug=new_slug,
                new_name=new_name,
                progress=progress,
            )
    logger.info(
        "restore of backup %s into %s (%s) in %.2f s",
        backup_id,
        restored.schema_name,
        target,
        restored.seconds,
    )
    return restored


def restore_new_check(*, code: str, slug: str, name: str, county_id: str | None) -> None:
    """Refuse early (before any job starts) what school_register would refuse later for
    a new school in the county of the backup's school."""
    from django.core.exceptions import ValidationError

    from tenants.services import MSG_CODE_TAKEN, MSG_PROVINCE_MISMATCH, MSG_SLUG_TAKEN
    from tenants.validators import validate_school_code, validate_slug

    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["new_name"] = [MSG_NEW_FIELDS]
    try:
        normalized = validate_school_code(code)
    except ValidationError as exc:
        errors["new_code"] = exc.messages
    else:
        taken = School.objects.filter(code=normalized).values_list("name", flat=True).first()
        if taken is not None:
            errors["new_code"] = [MSG_CODE_TAKEN.format(code=normalized, name=taken)]
        elif county_id and county_id[:2] != normalized[2:4]:
            errors["new_code"] = [
                MSG_PROVINCE_MISMATCH.format(code=normalized[2:4], county=county_id[:2])
            ]
    try:
        normalized_slug = validate_slug(slug)
    except ValidationError as exc:
        errors["new_slug"] = exc.messages
    else:
        if School.objects.filter(slug=normalized_slug).exists():
            errors["new_slug"] = [MSG_SLUG_TAKEN.format(slug=normalized_slug)]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ApplicationError(first, code="invalid", extra=errors)
