"""The registry's counting definitions as plain data, for the public apps (the bureau's
dashboard) that count SchoolCount rows without entering a school.

Everything here comes from tenant_apps.registry.counts (what 在读 is, the line every other
record is counted on, the flags), rollover.grade_name (一年级 …) and the code tables, so the
bureau's figures mean what the school's 查询统计 means. Nothing here reads a schema.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class LineDef:
    key: str
    label: str


@dataclass(frozen=True)
class Definitions:
    """The counting rules as values: 在读 is audit_state == in_school_audit and status ==
    in_school_status; records in pending_states are counted apart (未注册); deleted_state
    is counted nowhere."""

    in_school_audit: str
    in_school_status: str
    pending_states: tuple[str, ...]
    deleted_state: str
    male: str
    female: str
    lines: tuple[LineDef, ...]
    flags: tuple[LineDef, ...]


def definitions() -> Definitions:
    from tenant_apps.registry import counts
    from tenant_apps.registry.models import Student

    return Definitions(
        in_school_audit=Student.Audit.REGISTERED.value,
        in_school_status=Student.Status.STUDYING.value,
        pending_states=tuple(str(s) for s in counts.PENDING_STATES),
        deleted_state=Student.Audit.DELETED.value,
        male=Student.Sex.MALE.value,
        female=Student.Sex.FEMALE.value,
        lines=tuple(LineDef(line.key, line.label) for line in counts.status_lines()),
        flags=tuple(LineDef(f.key, f.label) for f in counts.FLAGS),
    )


def line_of(*, audit_state: str, status: str) -> str:
    """The key of the line a record with these values is counted on ("" if deleted)."""
    from tenant_apps.registry import counts

    return counts.line_of(audit_state=audit_state, status=status)


def school_year(today: dt.date | None = None) -> int:
    """The calendar year the current school year started in (1 September)."""
    from tenant_apps.registry.policy.rules import school_year as year

    return year(today)


def grade_label(stage: str, entry_year: int, today: dt.date | None = None) -> str:
    """三年级 for a grade in the current school year, by the registry's own rule
    (rollover.grade_name); a grade outside its stage's years (graduated, not yet begun)
    is named by stage and entry year (小学2019级), as the school's pages name it."""
    from tenant_apps.registry.lifecycle.rollover import grade_name
    from tenant_apps.registry.models.classes import STAGE_NAME

    name = grade_name(stage, entry_year, school_year(today))
    cohort = f"{STAGE_NAME.get(stage, stage)}{entry_year}级"
    return f"{name}（{cohort}）" if name else cohort


def stage_labels() -> dict[str, str]:
    from tenant_apps.registry.models.classes import STAGE_NAME

    return dict(STAGE_NAME)


def ethnicity_labels() -> dict[str, str]:
    """{code: 汉族 …} in the code table's order."""
    from tenant_apps.registry.codes import table

    return table("ethnicity").labels
