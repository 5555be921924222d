"""A dump on its way back: the schemas it holds, its schema name rewritten, its
download from storage and the one-transaction psql restore."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.core.files.storage import default_storage

from shared_apps.backups.base import (
    _SCHEMA_RE,
    BACKUP_NEWER,
    MIGRATIONS_DIFFER,
    MSG_BACKUP_NEWER,
    MSG_CHECKSUM,
    MSG_MIGRATIONS_DIFFER,
    MSG_NOT_FOUND,
    MSG_RESTORE_FAILED,
    MSG_SCHOOL_NOT_FOUND,
    BackupError,
)
from shared_apps.backups.dump import CHUNK, storage_name
from shared_apps.backups.models import SchoolBackup
from shared_apps.backups.pgtools import _tail, pg_env, pg_tool
from tenants.context import school_context
from tenants.services import TEMPLATE_SCHEMA

logger = logging.getLogger(__name__)


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
    *,
    dump: Path,
    before: list[str],
    after: list[str],
    rename: tuple[str, str] | None,
    data_only: bool = False,
) -> None:
    """pg_restore -f - dump | [schema_rewrite] | psql --single-transaction, with SQL run
    before and after the dump inside the same transaction; ROLLBACK on any error.
    `data_only`: the rows and sequence values only, into tables that already exist (the
    restore on Citus, shared_apps.backups.citus_restore)."""
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
            [
                pg_tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                *(["--data-only"] if data_only else []),
                "--file=-",
                str(dump),
            ],
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
