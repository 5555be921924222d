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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

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


def pending_lines() -> tuple[Line, ...]:
    """The lines of the records not yet registered (未注册：待提交, 待学校审核, ...)."""
    return tuple(line for line in status_lines() if line.key.startswith("audit_"))


def lines_count(qs: QuerySet[Student]) -> dict[str, int]:
    """{line key: records of `qs` on that line} for every line of status_lines(), in one
    query. Deleted records are on no line."""
    return dict(
        qs.aggregate(**{line.key: Count("id", filter=line.where) for line in status_lines()})
    )


def in_school_q(prefix: str = "") -> Q:
    """IN_SCHOOL through a relation, e.g. in_school_q("students__") on SchoolClass."""
    return Q(**{f"{prefix}audit_state": A.REGISTERED, f"{prefix}status": S.STUDYING})


# -- flags -------------------------------------------------------------------------------
# The flags a school counts its pupils by (domain.md §4.9). Each is decided from the
# record's template values, by `flags_of` for code that has the values and by the Q for
# querysets; the two say the same thing (tests/registry counts test both).

# Codes that mean "no" in the code tables whose other codes each mean "yes, of a kind".
_NO_CODES = ("", "0")
BOARDING = "2"  # attendance (就读方式) 住校


@dataclass(frozen=True)
class Flag:
    key: str
    label: str
    where: Q


FLAGS: tuple[Flag, ...] = (
    Flag("left_behind", "留守儿童", ~Q(left_behind__in=_NO_CODES)),
    Flag("migrant_child", "进城务工人员随迁子女", Q(migrant_child=True)),
    Flag(
        "disability",
        "残疾/随班就读",
        ~Q(disability__in=_NO_CODES) | ~Q(inclusive__in=_NO_CODES),
    ),
    Flag("boarding", "寄宿（住校）", Q(attendance=BOARDING)),
    Flag("needs_aid", "需要申请资助", Q(needs_aid=True)),
    Flag("boarding_subsidy", "享受一补", Q(boarding_subsidy=True)),
    Flag("only_child", "独生子女", Q(only_child=True)),
)
FLAG_KEYS: tuple[str, ...] = tuple(f.key for f in FLAGS)
# The template columns the flags are decided from.
FLAG_SOURCE_FIELDS: tuple[str, ...] = (
    "left_behind",
    "migrant_child",
    "disability",
    "inclusive",
    "attendance",
    "needs_aid",
    "boarding_subsidy",
    "only_child",
)


def flags_of(values: Mapping[str, Any]) -> dict[str, bool]:
    """{flag key: set?} of one record's values (keys of FLAG_SOURCE_FIELDS); the same rule
    as FLAGS' filters."""
    return {
        "left_behind": (values.get("left_behind") or "") not in _NO_CODES,
        "migrant_child": values.get("migrant_child") is True,
        "disability": (values.get("disability") or "") not in _NO_CODES
        or (values.get("inclusive") or "") not in _NO_CODES,
        "boarding": values.get("attendance") == BOARDING,
        "needs_aid": values.get("needs_aid") is True,
        "boarding_subsidy": values.get("boarding_subsidy") is True,
        "only_child": values.get("only_child") is True,
    }


def flag_bits(values: Mapping[str, Any]) -> int:
    """flags_of(values) packed as the public index stores them (IndexEntry.flags): bit i
    set when FLAG_KEYS[i] is. The one place the bits are made."""
    on = flags_of(values)
    return sum(1 << i for i, key in enumerate(FLAG_KEYS) if on[key])


# -- leaving school (学生流失情况) ------------------------------------------------------------
# The status changes a pupil is "lost" by: 流失（辍学） and 其他离校 (seed S6). 退学, 死亡,
# 出国 are counted by kind in the 异动 report, not as 流失.
ATTRITION_KINDS: tuple[str, ...] = ("DROPOUT", "OTHER_LEAVE")
