"""PostgreSQL COPY text format, made in Python.

The import builds its COPY lines ahead of the write (registry.imports.bulkwrite), possibly in
another process, and hands them to psycopg as bytes: psycopg's own row formatting then
has nothing left to do. Only the types the registry stores are spelled here; anything
else is a TypeError rather than a guess.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection
from psycopg import sql

_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: object) -> str:
    """One value as PostgreSQL's COPY text format spells it (NULL is \\N)."""
    kind = type(value)
    if kind is str:
        return value.translate(_ESCAPE)  # type: ignore[attr-defined,no-any-return]
    if value is None:
        return "\\N"
    if isinstance(value, str):  # a str subclass: Django's TextChoices members
        return value.translate(_ESCAPE)
    if kind is bool:
        return "t" if value else "f"
    if kind is int or kind is Decimal or kind is uuid.UUID:
        return str(value)
    if kind is dt.date or kind is dt.datetime:
        return value.isoformat()  # type: ignore[attr-defined,no-any-return]
    raise TypeError(f"no COPY text for {kind.__name__}")


_BOOL = {True: "t", False: "f"}


def copy_line(values: list[Any] | tuple[Any, ...]) -> str:
    """Tab-joined COPY text of `values`, without the line end.

    Almost all text holds no tab, newline or backslash and goes in as it is: NULL is
    first written as NUL (which no stored text can hold: PostgreSQL refuses it, and the
    upload check refuses files containing it), the line is checked once (a stray tab
    shows as one tab too many, a NUL in the data as one NUL too many), then NUL becomes
    \\N. A line that fails the check is escaped value by value.
    """
    parts = [
        v
        if type(v) is str
        else "\0"
        if v is None
        else _BOOL[v]
        if type(v) is bool
        else copy_value(v)
        for v in values
    ]
    line = "\t".join(parts)
    if (
        line.count("\t") == len(parts) - 1
        and "\\" not in line
        and "\n" not in line
        and "\r" not in line
        and line.count("\0") == values.count(None)
    ):
        return line.replace("\0", "\\N")
    return "\t".join(map(copy_value, values))


COPY_BATCH_LINES = 2000  # lines handed to psycopg per write: few calls, bounded memory


def copy_lines(statement: sql.Composable, lines: Iterable[str]) -> None:
    """Run a COPY ... FROM STDIN on the default connection (the caller's transaction),
    feeding it ready-made text lines, each ending in a newline."""
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) == COPY_BATCH_LINES:
                copy.write("".join(batch).encode())
                batch = []
        if batch:
            copy.write("".join(batch).encode())
