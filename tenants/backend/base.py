"""django-tenants' PostgreSQL backend, with the one DDL change Citus needs.

Citus refuses `ALTER TABLE … ADD COLUMN … CHECK (…)` / `UNIQUE` on a table in a
distributed schema ("Adding a column with a constraint in one command is not supported
because all constraints in Citus must have explicit names"), and Django writes exactly
that for a new PositiveSmallIntegerField or unique field. On a Citus database the
statement is split into ADD COLUMN and ADD CONSTRAINT with the names PostgreSQL itself
gives inline constraints (`<table>_<column>_check`, `_key`), so a school's schema ends
up the same as on plain PostgreSQL. And in a school schema the foreign keys to public
tables (tenants.citus.PUBLIC_FK_TARGETS, where the reason is) are not created on Citus.
Without the citus extension nothing changes.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.backends.postgresql.schema import DatabaseSchemaEditor as PgSchemaEditor
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantsWrapper

from tenants.citus import PUBLIC_FK_TARGETS

ADD_COLUMN = re.compile(
    r'^ALTER TABLE (?P<table>"[^"]+") ADD COLUMN (?P<column>"[^"]+") (?P<definition>.*?)'
    r"(?P<unique> UNIQUE)?(?: CHECK \((?P<check>.*)\))?$",
    re.DOTALL,
)

PUBLIC_FK = re.compile(
    r'^ALTER TABLE "[^"]+" ADD CONSTRAINT "[^"]+" '
    r'FOREIGN KEY \("[^"]+"\) REFERENCES "(?P<to>[^"]+)"'
)


def _name(table: str, column: str, suffix: str) -> str:
    # PostgreSQL's own choice for an inline constraint, cut to the 63-byte identifier limit.
    return f"{table.strip(chr(34))}_{column.strip(chr(34))}"[: 63 - len(suffix) - 1] + f"_{suffix}"


class CitusSchemaEditor(PgSchemaEditor):
    def execute(self, sql: Any, params: Any = ()) -> None:
        text = str(sql)
        fk = PUBLIC_FK.match(text)
        if (
            fk
            and fk["to"] in PUBLIC_FK_TARGETS
            and self.connection.schema_name != "public"
            and self.connection.citus  # type: ignore[attr-defined]
        ):
            return
        match = ADD_COLUMN.match(text) if isinstance(sql, str) else None
        if match and (match["unique"] or match["check"]) and self.connection.citus:  # type: ignore[attr-defined]
            table, column = match["table"], match["column"]
            super().execute(
                f"ALTER TABLE {table} ADD COLUMN {column} {match['definition']}", params
            )
            if match["unique"]:
                name = _name(table, column, "key")
                super().execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" UNIQUE ({column})')
            if match["check"]:
                name = _name(table, column, "check")
                super().execute(
                    f'ALTER TABLE {table} ADD CONSTRAINT "{name}" CHECK ({match["check"]})'
                )
            return
        super().execute(sql, params)


class DatabaseWrapper(TenantsWrapper):
    SchemaEditorClass = CitusSchemaEditor

    _citus: bool | None = None

    @property
    def citus(self) -> bool:
        """Whether the database has the citus extension; asked once per connection object."""
        if self._citus is None:
            with self.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
                self._citus = cursor.fetchone() is not None
        return self._citus
