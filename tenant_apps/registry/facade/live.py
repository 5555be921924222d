"""What the bureau's live counts (student_index.SchoolCount) should hold for one school,
counted from the school's own records, and the rule that turns a cell into the school's
headline numbers (tenants.SchoolStats).

The nightly check (backups.index_resync.live_counts_check) compares `live_cells` with
the school's SchoolCount rows; both must follow index_record's rules exactly: a cell is
(stage and entry year of the class, sex, ethnicity, status, audit state, 问题学籍), its
figures the number of records and how many carry each flag of registry.counts.FLAGS.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, F, OuterRef

from tenants.context import school_context

# (stage, entry_year, sex, ethnicity, status, audit_state, has_problem): the order of
# student_index.live.CELL_COLUMNS.
LiveCell = tuple[str, int, str, str, str, str, bool]
# (students, then one sum per flag in registry.counts.FLAG_KEYS order).
LiveFigures = tuple[int, ...]


def live_cells(*, schema_name: str, school_id: int) -> dict[LiveCell, LiveFigures]:
    """The cells of the school's live records (deleted ones count nowhere), in one
    grouped query. A record whose index entry is another school's (籍随人走: the 转出
    copy a transfer leaves behind, a primary graduate taken in by a middle school) is
    counted there, not here."""
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry import counts
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import open_problem_annotation

    cells: dict[LiveCell, list[int]] = {}
    with school_context(schema_name):
        # Inside the school's context the search path still ends in public, where the
        # index is: one statement, no instance crosses.
        elsewhere = IndexEntry.objects.filter(student_uuid=OuterRef("identifier")).exclude(
            school_id=school_id
        )
        rows = (
            Student.objects.filter(counts.LIVE)
            .exclude(Exists(elsewhere))
            .annotate(open_problem=open_problem_annotation())
            .values(
                "sex",
                "ethnicity",
                "status",
                "audit_state",
                "open_problem",
                stage=F("school_class__stage"),
                entry_year=F("school_class__entry_year"),
            )
            .annotate(
                students=Count("id"),
                **{f"flag_{f.key}": Count("id", filter=f.where) for f in counts.FLAGS},
            )
            .order_by()
        )
        for grouped in rows:
            r: dict[str, Any] = dict(grouped)
            cell: LiveCell = (
                r["stage"],
                r["entry_year"],
                r["sex"],
                r["ethnicity"] or "",
                r["status"],
                r["audit_state"],
                bool(r["open_problem"]) or r["audit_state"] == Student.Audit.PROBLEM,
            )
            figures = [r["students"], *(r[f"flag_{k}"] for k in counts.FLAG_KEYS)]
            into = cells.setdefault(cell, [0] * len(figures))
            for i, n in enumerate(figures):
                into[i] += n
    return {cell: tuple(figures) for cell, figures in cells.items()}


def stats_fields_of(*, audit_state: str, status: str, sex: str) -> tuple[str, ...]:
    """Which of tenants.SchoolStats' live numbers (students, male, female, pending) a
    record with these values adds to, by registry.counts: 在读 counts as a student (and by
    sex), a record not yet registered as pending, everything else in neither."""
    from tenant_apps.registry import counts
    from tenant_apps.registry.models import Student

    line = counts.line_of(audit_state=audit_state, status=status)
    if line == "in_school":
        if sex == Student.Sex.MALE:
            return ("students", "male")
        return ("students", "female") if sex == Student.Sex.FEMALE else ("students",)
    if audit_state in counts.PENDING_STATES:
        return ("pending",)
    return ()
