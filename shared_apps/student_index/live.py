"""The bureau's live counts (SchoolCount, issue 16): re-derived from the index, per school,
in the transaction of every index write.

Not kept by deltas: each write re-derives the whole of each school it touched with one
GROUP BY over that school's entries. A delta is exact only if every writer computes it
from exactly what it changed; a derivation is exact whenever the index is, and costs one
indexed scan of one school's entries (a 50,000-row import: bench/RESULTS.md).

Concurrency: the school's row in tenants_school is locked first (FOR NO KEY UPDATE), so
the writers of one school take turns here; under READ COMMITTED the GROUP BY is a new
statement after the lock is granted and sees every entry committed by the writer before,
together with this transaction's own, so no writer's change is lost. FOR NO KEY UPDATE,
not FOR UPDATE: inserting an entry or a count takes FOR KEY SHARE on the school row (the
foreign key), which FOR UPDATE would wait for, so two writers each holding the other's
KEY SHARE would deadlock. A row lock rather than pg_advisory_xact_lock: on Citus the
public tables stay on the coordinator as reference tables, a row lock there is a lock on
the data every node's transaction goes through, whereas advisory locks are node-local.
Several schools (a transfer) are locked in one statement in id order, so two transfers in
opposite directions cannot deadlock each other here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import connection, transaction

from shared_apps.student_index.models import FLAG_COLUMNS, SchoolCount

# The cell of a SchoolCount row: what the GROUP BY groups by, in this order.
CELL_COLUMNS = (
    "stage",
    "entry_year",
    "sex",
    "ethnicity",
    "status",
    "audit_state",
    "has_problem",
)
Cell = tuple[str, int, str, str, str, str, bool]
# A cell's figures: students, then one per flag (FLAG_COLUMNS order).
Figures = tuple[int, ...]

_LOCK_SQL = "SELECT id FROM public.tenants_school WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE"
_GROUP_COLUMNS = ", ".join(("school_id", *CELL_COLUMNS))
_DERIVE_SQL = (
    f"INSERT INTO public.student_index_schoolcount ({_GROUP_COLUMNS}, students, "
    f"{', '.join(FLAG_COLUMNS)}) "
    f"SELECT {_GROUP_COLUMNS}, count(*), "
    + ", ".join(f"count(*) FILTER (WHERE flags & {1 << i} <> 0)" for i in range(len(FLAG_COLUMNS)))
    + " FROM public.student_index_indexentry WHERE school_id = ANY(%s)"
    f" GROUP BY {_GROUP_COLUMNS}"
    " RETURNING school_id, sex, audit_state, status, students"
)


# Which of the school's headline numbers (tenants.SchoolStats' live fields: students,
# male, female, pending) a cell adds to: the registry's definitions (registry.counts),
# registered in RegistryConfig.ready() since the index sits below the registry.
StatsRule = Callable[..., tuple[str, ...]]
_stats_rule: list[StatsRule] = []
STATS_FIELDS = ("students", "male", "female", "pending")


def register_stats_rule(rule: StatsRule) -> None:
    """Name the rule `rule(audit_state=, status=, sex=) -> field names of STATS_FIELDS`."""
    _stats_rule[:] = [rule]


@transaction.atomic
def counts_refresh(*, school_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Replace the SchoolCount rows of these schools with the counts of their index
    entries now, and store their headline numbers (tenants.SchoolStats). Runs in the
    caller's transaction; returns the totals per school."""
    wanted = sorted(set(school_ids))
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        # The per-school lock (module docstring): the writers of one school take turns.
        cursor.execute(_LOCK_SQL, [wanted])
        locked = [row[0] for row in cursor.fetchall()]
        if not locked:
            return {}
        cursor.execute(
            "DELETE FROM public.student_index_schoolcount WHERE school_id = ANY(%s)", [locked]
        )
        cursor.execute(_DERIVE_SQL, [locked])
        rows = cursor.fetchall()
    totals = _totals(locked, rows)
    if _stats_rule:
        from tenants.services import school_stats_live_set

        school_stats_live_set(figures=totals)
    return totals


def _totals(
    schools: list[int], rows: list[tuple[int, str, str, str, int]]
) -> dict[int, dict[str, int]]:
    totals = {sid: dict.fromkeys(STATS_FIELDS, 0) for sid in schools}
    rule = _stats_rule[0] if _stats_rule else None
    if rule is None:
        return totals
    for school_id, sex, audit_state, status, students in rows:
        for name in rule(audit_state=audit_state, status=status, sex=sex):
            totals[school_id][name] += students
    return totals


def school_cells(*, school_id: int) -> dict[Cell, Figures]:
    """The school's SchoolCount rows as {cell: (students, flag sums...)}."""
    rows = SchoolCount.objects.filter(school_id=school_id).values_list(
        *CELL_COLUMNS, "students", *FLAG_COLUMNS
    )
    n = len(CELL_COLUMNS)
    return {tuple(r[:n]): tuple(r[n:]) for r in rows}
