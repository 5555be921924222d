"""The national check's results inside one school, for the bureau's verification import
(bureau.verification): plan (reads) and apply (writes, in the caller's transaction).
Rows and outcomes are frozen dataclasses (registry.verification.services)."""

from __future__ import annotations

from collections.abc import Sequence

from common.actor import Actor
from tenant_apps.registry.verification.rows import (
    FAILURE_KINDS,
    KIND_LABELS,
    PASSED,
    PROBLEM,
    SKIP,
    VERIFY,
    CheckOutcome,
    CheckRow,
)
from tenants.context import school_context

__all__ = [
    "FAILURE_KINDS",
    "KIND_LABELS",
    "PASSED",
    "PROBLEM",
    "SKIP",
    "VERIFY",
    "CheckOutcome",
    "CheckRow",
    "national_check_apply",
    "national_check_plan",
]


def national_check_plan(*, schema_name: str, rows: Sequence[CheckRow]) -> list[CheckOutcome]:
    """What each row naming a record of the school would do; rows naming none are absent."""
    from tenant_apps.registry.verification.services import plan

    with school_context(schema_name):
        return plan(rows)


def national_check_apply(
    *, schema_name: str, rows: Sequence[CheckRow], actor: Actor
) -> list[CheckOutcome]:
    """Apply the rows to the school's records (no transaction of its own: the bureau's
    confirm spans every school of the file)."""
    from tenant_apps.registry.facade.move import checkpoint
    from tenant_apps.registry.verification.services import apply

    with school_context(schema_name):
        outcomes = apply(rows, actor=actor)
        checkpoint("national_check_after_school")
        return outcomes
