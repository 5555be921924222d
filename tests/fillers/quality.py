"""URL parameters of 数据质量 (shared_apps.bureau.quality): a real figure key, so the walk
aims the other county's officer at school A's list of 待教育局审核 (and its export)."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"figure": "str"}


def values(world: Any) -> dict[str, str]:
    return {"figure": "county_pending"}
