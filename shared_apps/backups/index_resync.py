"""The public student index made to mirror a school's own records (the school is read
through the registry's facade): after a restore, and when the nightly check of the live
counts (SchoolCount) finds that they drifted from the school's records."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction

from shared_apps.backups.base import MSG_REINDEXED, Progress
from tenants.context import school_context

log = logging.getLogger(__name__)


def _index_resync(*, school_id: int, schema: str, progress: Progress | None = None) -> None:
    """Make the public student index mirror the restored students of the school.
    Re-hashing every student is most of a restore's time: `progress` hears 85 → 95 %
    about ten times on the way.

    A record whose entry belongs to another school stays there (the 转出 copy a
    transfer leaves, a graduate taken in elsewhere): a restore of one school never takes
    another school's pupil from it. The live counts of every school touched follow in
    the same transaction (student_index.services)."""
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.student_index.services import index_school_replace
    from tenant_apps.registry.facade import index_records

    def heard(n: int, total: int) -> None:
        if progress:
            progress(85 + 10 * n // total, MSG_REINDEXED.format(n=n, total=total))

    records = index_records(schema_name=schema, on_progress=heard)
    with school_context("public"), transaction.atomic():
        elsewhere = set(
            IndexEntry.objects.filter(student_uuid__in=[r.student_uuid for r in records])
            .exclude(school_id=school_id)
            .values_list("student_uuid", flat=True)
        )
        index_school_replace(
            school_id=school_id,
            records=[r for r in records if r.student_uuid not in elsewhere],
        )


def _claims_resync(*, school_id: int, schema: str) -> None:
    """Make the school's public nutrition claims mirror its restored beneficiary records
    (read through the rosters facade), so the checks and the county's counts see what the
    school now holds."""
    from shared_apps.nutrition.services import ClaimRecord, claims_school_replace
    from tenant_apps.rosters.facade import beneficiary_records

    records = beneficiary_records(schema_name=schema)
    with school_context("public"):
        claims_school_replace(
            school_id=school_id,
            records=[
                ClaimRecord(r.student_uuid, r.since, r.until, r.ticked_by, r.ended_by)
                for r in records
            ],
        )


def live_counts_check(*, school_id: int) -> dict[str, Any]:
    """Compare the school's live counts with the counts of its own records; on any
    difference re-sync its index entries (which re-derives the counts), record what
    differed (student_index.CountDrift, and a WARNING) and say so.

    Runs under the school's live-count lock (student_index.live), so no index write of
    the school commits between the two readings and the repair: what differs is drift,
    not a write in flight."""
    from shared_apps.student_index.live import school_cells
    from shared_apps.student_index.models import CountDrift
    from tenant_apps.registry.facade import live_cells
    from tenants.models import School

    with school_context("public"), transaction.atomic():
        schema = (
            School.objects.serving()
            .filter(pk=school_id)
            .values_list("schema_name", flat=True)
            .first()
        )
        if schema is None:
            return {"school_id": school_id, "checked": False}
        with connection.cursor() as cursor:
            # The lock the index writers take (student_index.live): they wait for the check.
            cursor.execute(
                "SELECT id FROM public.tenants_school WHERE id = %s FOR NO KEY UPDATE",
                [school_id],
            )
        truth = live_cells(schema_name=schema, school_id=school_id)
        found = school_cells(school_id=school_id)
        differing = sorted(
            (c for c in truth.keys() | found.keys() if truth.get(c) != found.get(c)),
            key=repr,
        )
        summary: dict[str, Any] = {
            "school_id": school_id,
            "checked": True,
            "cells": len(differing),
            "indexed": sum(f[0] for f in found.values()),
            "recorded": sum(f[0] for f in truth.values()),
        }
        if not differing:
            return {**summary, "repaired": False}
        log.warning(
            "live counts of school %s drifted in %d cells (index %d, records %d): repairing",
            school_id,
            len(differing),
            summary["indexed"],
            summary["recorded"],
        )
        _index_resync(school_id=school_id, schema=schema)
        repaired = school_cells(school_id=school_id) == truth
        CountDrift.objects.create(
            school_id=school_id,
            cells=len(differing),
            indexed=summary["indexed"],
            recorded=summary["recorded"],
            detail=[
                {
                    "cell": list(c),
                    "index": list(found.get(c, ())),
                    "records": list(truth.get(c, ())),
                }
                for c in differing[: CountDrift.CELLS_KEPT]
            ],
        )
        if not repaired:
            log.error("live counts of school %s still differ after the re-sync", school_id)
    return {**summary, "repaired": repaired}
