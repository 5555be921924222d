"""查询统计 of one school, read-only, for the bureau's drill-down (issue 16).

The bureau host reaches a school's statistics only through here: each call enters that
one school's context, builds the table with the report app's own selectors (the same
definitions as the school's pages) and returns frozen plain values. Counts only: the
pupil list of 学生流失情况 (names) is dropped, and nothing writes (no snapshot, no 升学率
setting).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from common.charts import Chart
from tenants.context import school_context


@dataclass(frozen=True)
class StatsTableRef:
    key: str
    title: str
    asks: str  # "date", "period", "grade" or "none", as the school's page asks


@dataclass(frozen=True)
class StatsTableView:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[int | float | None, ...]], ...]
    chart: Chart | None
    note: str
    as_of: dt.date | None
    source: str


def stats_tables() -> list[StatsTableRef]:
    """The school's 查询统计 tables, in the page's order."""
    from tenant_apps.reports.stats.selectors import TABLES

    return [StatsTableRef(s.key, s.title, s.asks) for s in TABLES.values()]


def stats_table(
    *,
    schema_name: str,
    key: str,
    date: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    grade: str = "",
) -> StatsTableView | None:
    """One table of the school `schema_name` (None for an unknown key)."""
    from tenant_apps.reports.stats.selectors import TABLES, Params

    spec = TABLES.get(key)
    if spec is None:
        return None
    with school_context(schema_name):
        table = spec.build(Params(date=date, start=start, end=end, grade=grade))
        return StatsTableView(
            key=table.key,
            title=table.title,
            columns=tuple(table.columns),
            rows=tuple((label, tuple(values)) for label, values in table.rows),
            chart=table.chart,
            note=table.note,
            as_of=table.as_of,
            source=table.source,
        )
