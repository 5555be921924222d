"""URL parameters of 查询统计 (tenant_apps.reports.stats): a table key. Tables are no
per-school objects, so school A's value is just a table that exists."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"table": "str"}


def values(world: Any) -> dict[str, str]:
    return {"table": "grade_sex"}
