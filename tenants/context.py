"""The only place (with task entry points) that switches schemas.

Never carry a model instance across a switch (django-tenants #731, #164): read inside
`school_context`, return plain values or frozen dataclasses, switch, then write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django_tenants.utils import schema_context


@contextmanager
def school_context(schema_name: str) -> Iterator[None]:
    with schema_context(schema_name):
        yield


def current_schema() -> str:
    return str(connection.schema_name)


def is_public() -> bool:
    return current_schema() == "public"
