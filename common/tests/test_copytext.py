"""COPY text made in Python reads back in PostgreSQL as the values it was made from."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from psycopg import sql

from common.copytext import copy_line, copy_lines, copy_value

pytestmark = pytest.mark.django_db

ROWS = [
    ("plain text", None, True, 7, dt.date(2018, 3, 1), Decimal("1.25"), uuid.UUID(int=1)),
    ("tab\there", "line\nbreak", False, 0, None, None, None),
    ("back\\slash \\N", "carriage\rreturn", None, -3, dt.date(2000, 2, 29), Decimal("0"), None),
    ("汉字·中点", "", True, None, None, Decimal("-2.5"), uuid.UUID(int=2**127)),
]


def test_tricky_values_survive_a_round_trip_through_copy() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE copy_probe (a text, b text, c boolean, d integer, e date,"
            " f numeric, g uuid)"
        )
    copy_lines(sql.SQL("COPY copy_probe FROM STDIN"), (copy_line(list(row)) + "\n" for row in ROWS))

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM copy_probe")
        back = cursor.fetchall()
    assert back == ROWS


def test_unknown_types_are_refused_rather_than_guessed() -> None:
    with pytest.raises(TypeError):
        copy_value(1.5)
