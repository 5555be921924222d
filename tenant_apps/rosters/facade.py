"""What the cross-school flows may ask of a school's rosters: for the county bureau, the
county's admitted lists (统一招生录取名单), their diff against the school's registry and
the county's exceptions (issue 18 point 4); for backups, the school's own nutrition
beneficiary records, from which a restore re-derives the public claims (point 3).

Every function that touches a school takes its schema name, works inside
`school_context` of that school only, and returns frozen values (rosters.admissions'
*Shown types, masked for the county: names and ID numbers), never a model. The county
audits its own writes in its log; this module writes only the school's rows.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl import Workbook

from common.actor import Actor
from common.spreadsheets import row_safe
from tenant_apps.rosters import admissions
from tenant_apps.rosters.admissions import (
    STAGE_LABELS,
    DiffShown,
    OverrideShown,
    intake_check,
    intake_label,
)
from tenant_apps.rosters.admissions_exports import XLSX, diff_workbook
from tenants.context import school_context

__all__ = [
    "STAGE_LABELS",
    "XLSX",
    "DiffShown",
    "IntakeCounts",
    "OverrideShown",
    "Published",
    "admissions_counts",
    "admissions_detail",
    "admissions_publish",
    "BeneficiaryRecord",
    "beneficiary_records",
    "default_intake_year",
    "diff_workbook",
    "intake_check",
    "intake_label",
    "override_grant",
    "override_revoke",
    "roster_part",
    "roster_read",
]


@dataclass(frozen=True)
class Published:
    rows: int
    admitted: int
    unreadable: int


@dataclass(frozen=True)
class IntakeCounts:
    """One school's diff for one intake, counted (the county's table)."""

    published_at: dt.datetime
    admitted: int
    registry: int
    only_registry: int
    only_listed: int
    mismatched: int
    excepted: int


def default_intake_year(today: dt.date | None = None) -> int:
    """The entry year of the intake being registered (from 1 July the coming autumn's)."""
    from tenant_apps.registry.lifecycle.intake import intake_year

    return intake_year(today)


def roster_read(*, filename: str, data: bytes) -> tuple[list[str], list[tuple[int, list[object]]]]:
    """The county's file read with the staging's own guards (no school involved)."""
    from tenant_apps.rosters.services import roster_read as read

    return read(filename=filename, data=data)


def roster_part(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """One school's rows of a county-wide file as a workbook of their own, so the school
    stages only its own pupils (never the county's other rows) through the ordinary
    upload path. Text stays text (common.spreadsheets)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("录取名单")
    ws.append(row_safe(ws, list(headers)))
    for cells in rows:
        ws.append(row_safe(ws, list(cells)))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def admissions_publish(
    *,
    schema_name: str,
    stage: str,
    entry_year: int,
    filename: str,
    data: bytes,
    actor: Actor,
) -> Published:
    with school_context(schema_name):
        admission = admissions.list_publish(
            stage=stage, entry_year=entry_year, filename=filename, data=data, actor=actor
        )
        counts = dict(admission.counts)
    return Published(
        rows=int(counts.get("rows", 0)),
        admitted=int(counts.get("admitted", 0)),
        unreadable=int(counts.get("unreadable", 0)),
    )


def admissions_counts(*, schema_name: str, stage: str, entry_year: int) -> IntakeCounts | None:
    """The school's diff for the intake, counted; None when the county has published no
    list for it. Two queries and the diff in memory (bench/rosters.py: 100 schools)."""
    with school_context(schema_name):
        found = admissions.intake_diff(stage, entry_year)
        if found is None:
            return None
        d = found.diff
        return IntakeCounts(
            published_at=found.admission.published_at,
            admitted=len(d.only_listed) + d.matched,
            registry=len(d.only_registry) + d.matched,
            only_registry=len(d.only_registry) - len(found.excepted),
            only_listed=len(d.only_listed),
            mismatched=len(d.mismatched),
            excepted=len(found.excepted),
        )


def admissions_detail(
    *, schema_name: str, stage: str, entry_year: int
) -> tuple[DiffShown | None, list[OverrideShown]]:
    """The school's diff for the county's drill-down and the county's exceptions, names
    and ID numbers masked."""
    with school_context(schema_name):
        return (
            admissions.intake_shown(stage, entry_year, mask_names=True),
            admissions.overrides_shown(stage, entry_year, mask_names=True),
        )


def override_grant(
    *,
    schema_name: str,
    stage: str,
    entry_year: int,
    name: str,
    sex: str,
    birth_date: dt.date | None,
    id_number: str,
    reason: str,
    actor: Actor,
) -> OverrideShown:
    with school_context(schema_name):
        override = admissions.override_grant(
            stage=stage,
            entry_year=entry_year,
            name=name,
            sex=sex,
            birth_date=birth_date,
            id_number=id_number,
            reason=reason,
            actor=actor,
        )
        shown = admissions.overrides_shown(override.stage, override.entry_year, mask_names=True)
    return next(o for o in shown if o.pk == override.pk)


def override_revoke(
    *, schema_name: str, override_id: int, reason: str, actor: Actor
) -> OverrideShown:
    with school_context(schema_name):
        override = admissions.override_revoke(override_id=override_id, reason=reason, actor=actor)
        shown = admissions.overrides_shown(override.stage, override.entry_year, mask_names=True)
    return next(o for o in shown if o.pk == override.pk)


@dataclass(frozen=True)
class BeneficiaryRecord:
    student_uuid: uuid.UUID
    since: dt.date
    until: dt.date | None
    ticked_by: str
    ended_by: str


def beneficiary_records(*, schema_name: str) -> list[BeneficiaryRecord]:
    """Every beneficiary period the school records (营养改善计划受益学生)."""
    from tenant_apps.rosters.models import Beneficiary

    with school_context(schema_name):
        rows = Beneficiary.objects.order_by("pk").values_list(
            "student_uuid", "since", "until", "ticked_by", "ended_by"
        )
        return [BeneficiaryRecord(*row) for row in rows]
