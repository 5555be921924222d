"""Charts as data: a page builds a Chart and renders it with `{% chart %}`
(common/templatetags/charts.py). The browser draws it with Apache ECharts
(static/js/charts.js, the library from package.json served from our static files); the
same numbers are printed as a table beside it, for screen readers, printing and
anyone who would rather read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["bar", "stacked", "hbar", "line", "pie"]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | int | None]


@dataclass(frozen=True)
class Chart:
    """One chart: `categories` along the axis (or the slices of a pie), one Series per
    bar group or line. `unit` is shown in tooltips and the table's header."""

    title: str
    categories: Sequence[str]
    series: Sequence[Series] = field(default_factory=tuple)
    kind: Kind = "bar"
    unit: str = ""

    def spec(self) -> dict[str, Any]:
        """What charts.js reads (JSON): plain lists, nothing Django-specific."""
        return {
            "kind": self.kind,
            "title": self.title,
            "unit": self.unit,
            "categories": [str(c) for c in self.categories],
            "series": [{"name": s.name, "values": list(s.values)} for s in self.series],
        }

    def rows(self) -> list[tuple[str, list[float | int | None]]]:
        """The table view: one row per category, one column per series."""
        return [
            (str(c), [s.values[i] if i < len(s.values) else None for s in self.series])
            for i, c in enumerate(self.categories)
        ]
