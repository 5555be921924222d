"""The audit log across a restore: a restore rolls back the school's data, never the
proof of what was done, so the live log is carried into the restored schema."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from shared_apps.backups.dumpfile import BackupInfo, _quote

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

    return [f.column for f in AuditEntry._meta.concrete_fields if f.column]


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

    def insert_sql(self, schema: str, *, into: str | None = None) -> str:
        """The entry for school `schema`, into that schema's log or into `into` (the
        staging schema that becomes `schema` in the same transaction, on Citus)."""
        values = self.values(schema)
        cols = ["at", *values]
        rendered = ["clock_timestamp()"] + [
            _literal(json.dumps(v, ensure_ascii=False)) + "::jsonb"
            if isinstance(v, dict)
            else _literal(v)
            for v in values.values()
        ]
        return (
            f"INSERT INTO {_quote(into or schema)}.{AUDIT_TABLE} "  # noqa: S608 - checked names
            f"({', '.join(cols)}) VALUES ({', '.join(rendered)})"
        )
