"""URL parameters of the bureau dashboard (shared_apps.bureau.dashboard): school A's
county and township, and one of its grades (stage, entry year). Codes, not per-school
objects: another county's officer must get 404 for every one of them."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"county": "str", "township": "str", "stage": "str", "entry_year": "int"}


def values(world: Any) -> dict[str, str]:
    # School A is in 浏阳市 (430181); 430181001 is 淮川街道, a township of that county.
    return {"county": "430181", "township": "430181001", "stage": "primary", "entry_year": "2024"}
