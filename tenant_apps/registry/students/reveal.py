"""What a reader sees of a student's identifiers: one rule for the pages and the API.

ID numbers (every ID type: 身份证, 护照, …), phones (the student's and the family
members') and a G national number (G + the ID number) are masked everywhere
(common.masking) unless the reader asks to reveal them — 显示完整号码 on the student's
page, `?reveal=1` on `GET /api/v1/students/<id>/` — and may see that student: 查看学籍,
or 查看本班学籍 for a student of a class in the reader's scope (policy.student_scope).
Each reveal, page or API, writes one ``read.reveal`` audit entry naming the student.
Lists, import reports and look-ups never reveal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accounts.audit import READ_REVEAL, audit_record
from accounts.roles import Right
from common.masking import mask_by_kind, mask_national_number
from common.permissions import has_any_right
from tenant_apps.registry.fields import BY_KEY
from tenant_apps.registry.models import Student
from tenant_apps.registry.policy import rules as policy

REVEAL_RIGHTS = (Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN)


def reveal_allowed(user: Any, student: Student) -> bool:
    """The page's rule: the rights of the student's page and the student in class scope."""
    return has_any_right(user, REVEAL_RIGHTS) and policy.in_scope(
        policy.student_scope(user), student.school_class_id
    )


def reveal_grant(request: Any, student: Student, *, asked: bool) -> bool:
    """Whether `student`'s identifiers are shown in full for this request: only when
    asked and allowed. A granted reveal is audited before anything is shown, so a
    reveal that cannot be recorded does not happen (audit_record raises)."""
    if not asked or not reveal_allowed(request.user, student):
        return False
    audit_record(
        request=request,
        action=READ_REVEAL,
        object_type="student",
        object_id=student.identifier,
    )
    return True


def shown(key: str, value: Any, *, reveal: bool) -> Any:
    """A stored value of column `key` (registry.fields, or national_number) as the
    reader may see it."""
    if reveal or value in (None, ""):
        return value
    if key == "national_number":
        return mask_national_number(str(value))
    col = BY_KEY.get(key)
    return value if col is None else mask_by_kind(col.kind, value)


def fields_shown(values: Mapping[str, Any], *, reveal: bool) -> dict[str, Any]:
    """A snapshot ({column key: value}, services.student_snapshot) as shown."""
    return {key: shown(key, value, reveal=reveal) for key, value in values.items()}


def changes_shown(changes: Mapping[str, Any] | None, *, reveal: bool) -> dict[str, Any]:
    """A StudentEvent's {key: [before, after]} as shown."""
    return {
        key: [shown(key, v, reveal=reveal) for v in pair] if isinstance(pair, list) else pair
        for key, pair in (changes or {}).items()
    }


def report_row_shown(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of an import report (an error echoing its cell, a correction before →
    after): an ID number or phone stays masked there as in every list, page and API."""
    key = str(row.get("key", ""))
    return dict(row) | {
        field: shown(key, row[field], reveal=False)
        for field in ("value", "before", "after")
        if field in row
    }


def report_counts_shown(counts: Mapping[str, Any]) -> dict[str, Any]:
    """An import batch's counts with its listed corrections masked (report_row_shown)."""
    shown_counts = dict(counts)
    if isinstance(counts.get("normalised"), list):
        shown_counts["normalised"] = [report_row_shown(r) for r in counts["normalised"]]
    return shown_counts
