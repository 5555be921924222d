"""The registry's facade returns plain values only and reads only the school it names."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from django.db import connection, models

from conftest import World
from shared_apps.transfers.tests.helpers import make_student
from tenant_apps.registry import facade
from tenants.context import school_context

ID_A, ID_B = "430181201803011234", "430181201803015678"


def _plain(value: Any, path: str = "result") -> None:
    """Walk a returned value (dataclasses, dicts, lists, tuples) and fail on anything
    that carries a connection: a model instance, a queryset or a manager."""
    assert not isinstance(value, models.Model | models.QuerySet | models.Manager), path
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        assert type(value).__dataclass_params__.frozen, f"{path}: {type(value).__name__}"  # type: ignore[attr-defined]
        for f in dataclasses.fields(value):
            _plain(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _plain(k, f"{path}[key]")
            _plain(v, f"{path}[{k!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for n, v in enumerate(value):
            _plain(v, f"{path}[{n}]")


@pytest.fixture
def two(world: World, db: None) -> tuple[Any, Any]:
    a = make_student(world.a.schema, world.a.id, name="门面测试甲", id_number=ID_A)
    b = make_student(world.b.schema, world.b.id, name="门面测试乙", id_number=ID_B)
    return a, b


def test_reads_return_frozen_plain_values(world: World, two: tuple[Any, Any]) -> None:
    """Every read's result is frozen dataclasses of plain values, wherever it is called."""
    a, _b = two
    schema = world.a.schema
    results: dict[str, Any] = {
        "masked_students": facade.masked_students(
            schema_name=schema, school_name=world.a.name, uuids=[a.identifier]
        ),
        "peek_records": facade.peek_records(schema, identifier=a.identifier),
        "student_card": facade.student_card(schema_name=schema, identifier=a.identifier),
        "student_blockers_of": facade.student_blockers_of(
            schema_name=schema, identifier=a.identifier, kind="TRANSFER"
        ),
        "draft_cards": facade.draft_cards(schema_name=schema),
        "class_options": facade.class_options(schema_name=schema),
        "person_of": facade.person_of(schema_name=schema, identifier=a.identifier),
        "grade_students": facade.grade_students(
            schema_name=schema, stage="primary", entry_year=2024
        ),
        "index_records": facade.index_records(schema_name=schema),
    }
    with school_context(schema):
        results["student_blockers_locked"] = facade.student_blockers_locked(
            schema_name=schema, identifier=a.identifier, kind="TRANSFER"
        )
        results["student_export"] = facade.student_export(a.identifier)
    for name, value in results.items():
        _plain(value, name)
    assert results["student_card"] is not None
    assert results["person_of"].name == "门面测试甲"
    assert [p.identifier for p in results["peek_records"]] == [a.identifier]
    assert connection.schema_name == "public"  # every read left the school it entered


def test_reads_see_only_the_named_school(world: World, two: tuple[Any, Any]) -> None:
    """A read names one school and returns that school's rows only, whichever schema
    the caller is in."""
    a, b = two
    for caller in ("public", world.b.schema):
        with school_context(caller):
            both = [a.identifier, b.identifier]
            masked = facade.masked_students(
                schema_name=world.a.schema, school_name=world.a.name, uuids=both
            )
            assert set(masked) == {a.identifier}
            assert facade.student_card(schema_name=world.a.schema, identifier=b.identifier) is None
            assert facade.person_of(schema_name=world.a.schema, identifier=b.identifier) is None
            assert facade.peek_records(world.a.schema, identifier__in=both)[0].identifier == (
                a.identifier
            )
            assert len(facade.peek_records(world.a.schema, identifier__in=both)) == 1
            grade = facade.grade_students(
                schema_name=world.a.schema, stage="primary", entry_year=2024
            )
            assert b.identifier not in {uuid.UUID(g.identifier) for g in grade}
            assert a.identifier in {uuid.UUID(g.identifier) for g in grade}
            records = facade.index_records(schema_name=world.a.schema)
            assert b.identifier not in {r.student_uuid for r in records}
            assert connection.schema_name == caller


def test_hooks_are_filled_by_the_bureau() -> None:
    """The registry's upward questions are answered by the bureau's ready()."""
    from tenant_apps.registry.facade import hooks

    assert "bureau" in hooks._AUX_LOCK_CHECKS
    assert "bureau" in hooks._EVIDENCE_SUBMITTED
