"""The dashboard's one write: the month's snapshot of the live counts (issue 16, trends).

Run nightly (bureau.dashboard_month_snapshot, CELERY_BEAT_SCHEDULE) and safe to run
again: the month's rows are replaced as a whole, in one transaction, so the month keeps
the counts of the latest day it was taken on and a second run the same day changes
nothing. Read from student_index.SchoolCount only; no school schema is entered.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from shared_apps.bureau.models import CountSnapshot, MonthCountyTotal, MonthTotal
from shared_apps.student_index.models import SchoolCount
from tenant_apps.registry import facade
from tenants.models import School

BATCH = 5000


@dataclass(frozen=True)
class SnapshotDone:
    month: dt.date
    rows: int
    schools: int


def month_snapshot_take(*, day: dt.date | None = None) -> SnapshotDone:
    """Replace the snapshot of `day`'s month (default today) by today's live counts."""
    day = day or timezone.localdate()
    month = day.replace(day=1)
    d = facade.count_definitions()
    cells: dict[tuple[int, str, int, str, str], int] = defaultdict(int)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    grouped = (
        SchoolCount.objects.values(
            "school_id", "stage", "entry_year", "sex", "audit_state", "status"
        )
        .annotate(n=Sum("students"))
        .order_by()
    )
    for r in grouped.iterator(chunk_size=BATCH):
        line = facade.line_of(audit_state=r["audit_state"], status=r["status"])
        n = int(r["n"] or 0)
        if not line or not n:
            continue
        cells[(r["school_id"], r["stage"], r["entry_year"], r["sex"], line)] += n
        total = totals[r["school_id"]]
        if line == "in_school":
            if r["sex"] == d.male:
                total[0] += n
            elif r["sex"] == d.female:
                total[1] += n
            total[2] += n
        elif r["audit_state"] in d.pending_states:
            total[3] += n
    county_of = dict(School.objects.filter(pk__in=list(totals)).values_list("pk", "county_id"))
    by_county: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for school, t in totals.items():
        county = county_of.get(school)
        if county:
            by_county[county] = [a + b for a, b in zip(by_county[county], t, strict=True)]
    with transaction.atomic():
        CountSnapshot.objects.filter(month=month).delete()
        MonthTotal.objects.filter(month=month).delete()
        MonthCountyTotal.objects.filter(month=month).delete()
        MonthCountyTotal.objects.bulk_create(
            MonthCountyTotal(
                month=month,
                county_id=county,
                in_school_male=t[0],
                in_school_female=t[1],
                in_school=t[2],
                pending=t[3],
            )
            for county, t in by_county.items()
        )
        CountSnapshot.objects.bulk_create(
            (
                CountSnapshot(
                    month=month,
                    school_id=school,
                    stage=stage,
                    entry_year=year,
                    sex=sex,
                    line=line,
                    students=n,
                )
                for (school, stage, year, sex, line), n in cells.items()
            ),
            batch_size=BATCH,
        )
        MonthTotal.objects.bulk_create(
            (
                MonthTotal(
                    month=month,
                    school_id=school,
                    in_school_male=t[0],
                    in_school_female=t[1],
                    in_school=t[2],
                    pending=t[3],
                    taken_on=day,
                )
                for school, t in totals.items()
            ),
            batch_size=BATCH,
        )
    return SnapshotDone(month, len(cells), len(totals))


# -- the live rollups (bureau.models.CountyCount, CountyDelta, SchoolTotal) ---------------
# The triggers of migration bureau 0003 keep them; these fold the deltas in and re-derive
# everything from SchoolCount when asked (nightly), saying what had drifted.

_DIMS = "stage, entry_year, sex, ethnicity, status, audit_state"
_COUNTERS = (
    "students, left_behind, migrant_child, disability, boarding, needs_aid, "
    "boarding_subsidy, only_child"
)
FOLD_LOCK = 16_0001  # pg advisory lock: one fold at a time


def _sums(alias: str) -> str:
    return ", ".join(f"SUM({alias}.{c})" for c in _COUNTERS.split(", "))


def rollup_fold() -> int:
    """Move the committed CountyDelta rows into CountyCount, in one transaction; returns
    how many delta rows were folded (0 when another fold is running)."""
    from django.db import connection

    updates = ", ".join(f"{c} = c.{c} + EXCLUDED.{c}" for c in _COUNTERS.split(", "))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(
            f"""
            WITH moved AS (DELETE FROM bureau_countydelta RETURNING *),
            summed AS (
                SELECT county_id, {_DIMS}, {_sums("m")} FROM moved m
                GROUP BY county_id, {_DIMS}
            ),
            applied AS (
                INSERT INTO bureau_countycount AS c (county_id, {_DIMS}, {_COUNTERS})
                SELECT * FROM summed
                ON CONFLICT (county_id, {_DIMS}) DO UPDATE SET {updates}
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM applied)
            """
        )
        moved, _applied = cursor.fetchone()
    return int(moved)


@dataclass(frozen=True)
class RebuildDone:
    county_cells: int
    school_totals: int
    drifted: int  # cells whose value differed from SchoolCount's (0 when all was exact)


def rollup_rebuild() -> RebuildDone:
    """Re-derive CountyCount and SchoolTotal from SchoolCount in one transaction (deltas
    folded first), counting the cells that had drifted. Locks the rollups against the
    triggers for its few seconds, so no write is lost in between."""
    from django.db import connection

    rollup_fold()
    dims_c = ", ".join(f"c.{d}" for d in _DIMS.split(", "))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "LOCK TABLE bureau_countycount, bureau_countydelta, bureau_schooltotal "
            "IN SHARE ROW EXCLUSIVE MODE"
        )
        cursor.execute("LOCK TABLE student_index_schoolcount IN SHARE MODE")
        derived_county = (
            f"SELECT s.county_id, {dims_c}, {_sums('c')} FROM student_index_schoolcount c "
            "JOIN tenants_school s ON s.id = c.school_id WHERE s.county_id IS NOT NULL "
            f"GROUP BY s.county_id, {dims_c}"
        )
        d = facade.count_definitions()
        ins = "audit_state = %s AND status = %s"
        derived_totals = (
            "SELECT school_id,"
            f" COALESCE(SUM(students) FILTER (WHERE {ins} AND sex = %s), 0),"
            f" COALESCE(SUM(students) FILTER (WHERE {ins} AND sex = %s), 0),"
            f" COALESCE(SUM(students) FILTER (WHERE {ins}), 0),"
            " COALESCE(SUM(students) FILTER (WHERE audit_state = ANY(%s)), 0)"
            " FROM student_index_schoolcount GROUP BY school_id"
        )
        in_params: list[Any] = [d.in_school_audit, d.in_school_status]
        totals_params: list[Any] = [
            *in_params,
            d.male,
            *in_params,
            d.female,
            *in_params,
            list(d.pending_states),
        ]
        # After the fold and under the locks, the rollups alone are the live figures:
        # compare their non-zero cells with what SchoolCount gives, both ways.
        nonzero = " OR ".join(f"{c} <> 0" for c in _COUNTERS.split(", "))
        columns = f"county_id, {_DIMS}, {_COUNTERS}"
        cursor.execute(
            f"""
            WITH held AS (SELECT {columns} FROM bureau_countycount WHERE {nonzero}),
            derived AS (SELECT * FROM ({derived_county}) d ({columns}) WHERE {nonzero})
            SELECT (SELECT count(*) FROM (SELECT * FROM held EXCEPT SELECT * FROM derived) a)
                 + (SELECT count(*) FROM (SELECT * FROM derived EXCEPT SELECT * FROM held) b)
            """
        )
        drifted = int(cursor.fetchone()[0])
        total_columns = "school_id, in_school_male, in_school_female, in_school, pending"
        cursor.execute(
            f"""
            WITH held AS (
                SELECT {total_columns} FROM bureau_schooltotal
                WHERE in_school_male <> 0 OR in_school_female <> 0 OR in_school <> 0
                   OR pending <> 0
            ),
            derived AS (
                SELECT * FROM ({derived_totals}) d ({total_columns})
                WHERE in_school_male <> 0 OR in_school_female <> 0 OR in_school <> 0
                   OR pending <> 0
            )
            SELECT (SELECT count(*) FROM (SELECT * FROM held EXCEPT SELECT * FROM derived) a)
                 + (SELECT count(*) FROM (SELECT * FROM derived EXCEPT SELECT * FROM held) b)
            """,
            totals_params,
        )
        drifted += int(cursor.fetchone()[0])
        cursor.execute("DELETE FROM bureau_countydelta")
        cursor.execute("DELETE FROM bureau_countycount")
        cursor.execute(
            f"INSERT INTO bureau_countycount (county_id, {_DIMS}, {_COUNTERS}) {derived_county}"
        )
        county_cells = cursor.rowcount
        cursor.execute("DELETE FROM bureau_schooltotal")
        cursor.execute(
            f"INSERT INTO bureau_schooltotal ({total_columns}) {derived_totals}", totals_params
        )
        school_totals = cursor.rowcount
    return RebuildDone(county_cells, school_totals, drifted)
