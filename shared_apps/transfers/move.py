"""The move of a student record between two schools (转学的档案迁移).

The move reads and writes inside schools, so it lives in the registry's facade
(tenant_apps.registry.facade.move); this module names what the transfer flow uses.
"""

from __future__ import annotations

from tenant_apps.registry.facade import (
    InjectedFailure,
    MovePlan,
    MoveResult,
    carried_models,
    natural_key_field,
    plan_for,
    related_models,
    stays,
    student_move,
)

__all__ = [
    "InjectedFailure",
    "MovePlan",
    "MoveResult",
    "carried_models",
    "natural_key_field",
    "plan_for",
    "related_models",
    "stays",
    "student_move",
]
