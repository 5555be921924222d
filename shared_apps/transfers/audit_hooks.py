"""What the audit log learns from the case engine (registered in TransfersConfig.ready()):
a business case as its parties know it, its number and kind. Cases live in public, which
every school's search path includes, so the description holds on both hosts and for
refused requests too."""

from __future__ import annotations

import datetime as dt
from typing import Any


def case_repr(object_id: str, since: dt.datetime) -> tuple[str, dict[str, Any], dict[str, Any]]:
    from shared_apps.transfers.models import Case

    case = Case.objects.filter(pk=object_id).only("number", "kind").first() if object_id else None
    return (f"{case.number} {case.get_kind_display()}" if case is not None else ""), {}, {}


def register_audit_hooks() -> None:
    from accounts.audit import register_describer

    register_describer("case", case_repr, school_only=False, successful_only=False)
