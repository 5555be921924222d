"""One definition of every count (domain.md §4.2, §3.2): what 在读 means, and the line
every other record is counted on. Every page, export, API and the bureau's figures
count through these, never through their own filters.

- 在读: registered (county-approved, `Audit.REGISTERED`) and in school (`Status.STUDYING`).
- A record still in draft, under audit (school or county) or in 问题学籍 is not a pupil
  of the school's figures yet: it is counted apart, on its own labelled line.
- Every registered record with another status (休学, 转出, 毕业, 流失, ...) has its line.
- Deleted records are counted nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from tenant_apps.registry.models import Student

A = Student.Audit
S = Student.Status

# The registration states whose records are not (yet) counted as pupils, in the order
# their lines are shown.
PENDING_STATES: tuple[str, ...] = (A.DRAFT, A.SCHOOL_PENDING, A.COUNTY_PENDING, A.PROBLEM)

IN_SCHOOL = Q(audit_state=A.REGISTERED, status=S.STUDYING)
REGISTERED = Q(audit_state=A.REGISTERED)
PENDING = Q(audit_state__in=PENDING_STATES)
LIVE = ~Q(audit_state=A.DELETED)


@dataclass(frozen=True)
class Line:
    """One line of the school's count: a key for code and exports, a label for people,
    and the filter that selects its records."""

    key: str
    label: str
    where: Q


def status_lines() -> tuple[Line, ...]:
    """在读 first, then every other JY/T status of registered records, then the records
    not yet registered, one line per registration state."""
    lines = [Line("in_school", "在读", IN_SCHOOL)]
    for value, label in S.choices:
        if value != S.STUDYING:
            lines.append(Line(f"status_{value}", str(label), REGISTERED & Q(status=value)))
    for state in PENDING_STATES:
        label = f"未注册：{A(state).label}"
        lines.append(Line(f"audit_{state}", label, Q(audit_state=state)))
    return tuple(lines)


def line_of(*, audit_state: str, status: str) -> str:
    """The key of the line one record is counted on ("" for a deleted record): the same
    rule as status_lines(), for code that has the values rather than a queryset."""
    if audit_state == A.DELETED:
        return ""
    if audit_state != A.REGISTERED:
        return f"audit_{audit_state}"
    return "in_school" if status == S.STUDYING else f"status_{status}"
