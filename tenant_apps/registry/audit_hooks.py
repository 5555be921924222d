"""What the audit log learns from the registry (registered in RegistryConfig.ready()).

The log (accounts.audit) knows no domain: the registry tells it what a request changed
on a student or a problem record, and the Chinese labels of the national template's
fields that those changes carry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def _student_changes(
    object_type: str, object_id: str, since: dt.datetime
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(student name, before, after) from the newest StudentEvent this request wrote.

    Registry services keep every change of a student in its StudentEvent
    ({field: [before, after]}); the entry repeats them so the log alone is the proof.
    """
    from tenant_apps.registry.models import Student, StudentEvent

    students = Student.objects.all()
    if object_type == "student":
        students = students.filter(identifier=object_id)
    elif object_type == "problem" and object_id.isdigit():
        students = students.filter(problems__pk=int(object_id))
    else:
        return "", {}, {}
    student = students.values("pk", "name").first()
    if student is None:
        return "", {}, {}
    event = (
        StudentEvent.objects.filter(student_id=student["pk"], at__gte=since)
        .order_by("-at", "-id")
        .first()
    )
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if event is not None:
        for key, pair in (event.changes or {}).items():
            if isinstance(pair, list | tuple) and len(pair) == 2:
                before[key], after[key] = pair
        if event.from_state or event.to_state:
            before.setdefault("audit_state", event.from_state)
            after.setdefault("audit_state", event.to_state)
    return str(student["name"]), before, after


def student_changes(
    object_id: str, since: dt.datetime
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return _student_changes("student", object_id, since)


def problem_changes(
    object_id: str, since: dt.datetime
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return _student_changes("problem", object_id, since)


def register_audit_hooks() -> None:
    from accounts.audit import register_describer, register_field_labels
    from tenant_apps.registry.fields import BY_KEY

    # Only in the school's own schema and for requests that succeeded, as its tables are.
    register_describer("student", student_changes)
    register_describer("problem", problem_changes)
    register_field_labels({key: column.header for key, column in BY_KEY.items()})
