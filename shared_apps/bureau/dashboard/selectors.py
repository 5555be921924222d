"""The bureau dashboard's reads (issue 16): totals and breakdowns over exactly the schools
an officer governs, from public tables only (student_index.SchoolCount for today, the
bureau's CountSnapshot/MonthTotal for past months). No school schema is entered here,
except the one school of a class-level drill-down, through the registry's facade.

Every count means what the school's 查询统计 means: 在读, the status lines, 未注册 and the
flags come from tenant_apps.registry.counts through facade.lines, grade names from the
registry's rollover rule. Headcounts are 在读 (by sex); 未注册 is counted apart, never in
在读; the status table shows every line of every live record.

One query per page: the breakdowns of a level are one GROUPING SETS aggregate over the
scope's SchoolCount rows (a few hundred result rows even for a province), and the trend
is one aggregate over MonthTotal.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from common.charts import Chart, Series
from shared_apps.bureau.models import (
    CountyCount,
    CountyDelta,
    MonthCountyTotal,
    MonthTotal,
    SchoolTotal,
)
from shared_apps.bureau.selectors import access_schools
from shared_apps.regions.models import Region
from shared_apps.student_index.models import SchoolCount
from tenant_apps.registry import facade

SEX_COLUMNS = ["男", "女", "在读合计"]
PLACE_COLUMNS = ["男", "女", "在读合计", "未注册"]
NO_TOWNSHIP = "未填写所在乡镇"
TREND_MONTHS = 12
SCHOOLS_PAGE = 50  # the page's 按学校 table; the export and the API carry every row

Value = int | float | str | None


@dataclass(frozen=True)
class SchoolMeta:
    """A school as the dashboard names it (no schema name, no id shown)."""

    id: int
    name: str
    schema_name: str
    county: str  # 6-digit county code
    county_name: str
    township: str  # 9-digit township code, "" when the school has not filled it in
    township_name: str


@dataclass(frozen=True)
class Scope:
    """What one dashboard page counts: a level, its title and its schools.

    level: "region" (the officer's whole region, or everything for an operator),
    "county", "township", "school" or "grade" (one grade of one school)."""

    level: str
    title: str
    schools: tuple[SchoolMeta, ...]
    multi_county: bool
    county: str = ""
    county_name: str = ""
    township: str = ""
    township_name: str = ""
    school: SchoolMeta | None = None
    stage: str = ""
    entry_year: int = 0

    @property
    def school_ids(self) -> list[int]:
        return [s.id for s in self.schools]

    def query(self) -> dict[str, str]:
        """The query string that asks for this scope (exports and the API)."""
        if self.level == "grade" and self.school:
            return {
                "school": str(self.school.id),
                "stage": self.stage,
                "entry_year": str(self.entry_year),
            }
        if self.level == "school" and self.school:
            return {"school": str(self.school.id)}
        if self.level == "township":
            return {"township": self.township}
        if self.level == "county":
            return {"county": self.county}
        return {}


@dataclass(frozen=True)
class Row:
    label: str
    values: list[Value]
    # What a click on the row drills into: ("county", code), ("township", code),
    # ("school", id), ("grade", "stage:entry_year"); the view turns it into a link.
    drill: tuple[str, str] | None = None


@dataclass
class DashTable:
    key: str
    title: str
    columns: list[str]
    rows: list[Row]
    chart: Chart | None = None
    note: str = ""
    total: int = 0  # rows before any page cut (按学校)

    def plain_rows(self) -> list[tuple[str, list[Value]]]:
        return [(r.label, r.values) for r in self.rows]


# -- scope ---------------------------------------------------------------------------


def _governed_prefix(user: User) -> str | None:
    """The region prefix every code the user may see starts with; "" for the whole
    platform, None for nobody."""
    if user.region_id:
        return user.region.prefix  # type: ignore[union-attr]
    if Role.PLATFORM_OPERATOR in user.role_codes:
        return ""
    return None


def school_metas(
    user: User,
    *,
    county: str = "",
    township: str = "",
    school_id: int | None = None,
    township_names: bool = True,
) -> list[SchoolMeta]:
    """The user's schools (bureau.selectors.access_schools: the region, every school for
    an operator), narrowed in the database to one county, township or school, with their
    county and (unless not wanted) township names, in school-code order."""
    qs = access_schools(user=user)
    if county:
        qs = qs.filter(county_id=county.ljust(12, "0"))
    if township:
        qs = qs.filter(location_code__startswith=township)
    if school_id is not None:
        qs = qs.filter(pk=school_id)
    rows = list(
        qs.order_by("code", "pk").values_list(
            "pk", "name", "schema_name", "county_id", "county__name", "location_code"
        )
    )
    names: dict[str, str] = {}
    if township_names:
        townships = {code[:9] for *_, code in rows if len(code or "") >= 9}
        names = dict(
            Region.objects.filter(code__in=[t + "000" for t in townships]).values_list(
                "code", "name"
            )
        )
    return [
        SchoolMeta(
            id=pk,
            name=name,
            schema_name=schema,
            county=(county_code or "")[:6],
            county_name=county_name or "",
            township=(loc or "")[:9] if (loc or "")[:9] + "000" in names else "",
            township_name=names.get((loc or "")[:9] + "000", NO_TOWNSHIP),
        )
        for pk, name, schema, county_code, county_name, loc in rows
    ]


def governs_counties(user: User) -> bool:
    """A city or province bureau, or the operator: its pages carry a county column."""
    return user.region is None or user.region.level < Region.Level.COUNTY


def _region_title(user: User) -> str:
    if user.region_id:
        return user.region.name  # type: ignore[union-attr]
    return "全部地区"


def scope_for(
    user: User,
    *,
    county: str = "",
    township: str = "",
    school_id: int | None = None,
    stage: str = "",
    entry_year: int | None = None,
) -> Scope | None:
    """The scope asked for, or None when it is not the user's (another region, an
    unknown code or school): the page answers 404, exactly as for a code that does not
    exist, so a page never tells whether another region's school or township exists."""
    prefix = _governed_prefix(user)
    if prefix is None:
        return None
    multi = governs_counties(user)
    if school_id is not None:
        found = school_metas(user, school_id=school_id)
        if not found:
            return None
        school = found[0]
        base = Scope(
            "school",
            school.name,
            (school,),
            False,
            county=school.county,
            county_name=school.county_name,
            township=school.township,
            township_name=school.township_name,
            school=school,
        )
        if not stage and entry_year is None:
            return base
        if stage not in facade.stage_labels() or not entry_year:
            return None
        return Scope(
            "grade",
            f"{school.name} {facade.grade_label(stage, entry_year)}",
            (school,),
            False,
            county=school.county,
            county_name=school.county_name,
            township=school.township,
            township_name=school.township_name,
            school=school,
            stage=stage,
            entry_year=entry_year,
        )
    if township:
        region = _region(township, Region.Level.TOWNSHIP, prefix, digits=9)
        if region is None:
            return None
        chosen = tuple(s for s in school_metas(user, township=township) if s.township == township)
        return Scope(
            "township",
            region.name,
            chosen,
            False,
            county=township[:6],
            county_name=_county_name(township[:6]),
            township=township,
            township_name=region.name,
        )
    if county:
        region = _region(county, Region.Level.COUNTY, prefix, digits=6)
        if region is None:
            return None
        chosen = tuple(school_metas(user, county=county))
        return Scope("county", region.name, chosen, False, county=county, county_name=region.name)
    schools = school_metas(user, township_names=not multi)
    if not multi and schools:
        # A county officer's region is one county: its page is that county's.
        first = schools[0]
        return Scope(
            "region",
            _region_title(user),
            tuple(schools),
            False,
            county=first.county,
            county_name=first.county_name,
        )
    return Scope("region", _region_title(user), tuple(schools), multi)


def _region(code: str, level: int, prefix: str, *, digits: int) -> Region | None:
    if len(code) != digits or not code.isdigit() or not code.startswith(prefix[:digits]):
        return None
    if len(prefix) > digits:
        # A township officer (none today) asking for its county: not governed.
        return None
    return Region.objects.filter(code=code.ljust(12, "0"), level=level).first()


def _county_name(county: str) -> str:
    return (
        Region.objects.filter(code=county.ljust(12, "0")).values_list("name", flat=True).first()
        or ""
    )


# -- the cube: one GROUPING SETS aggregate -------------------------------------------------

# Which grouping set a result row belongs to: GROUPING(school_id, stage, ethnicity,
# audit_state) has a bit set for every column NOT grouped in that row's set.
_BY_SCHOOL, _BY_GRADE, _BY_ETHNICITY, _BY_LINE, _TOTAL = 0b0111, 0b1011, 0b1101, 0b1110, 0b1111


@dataclass
class Counts:
    """在读 male, female, total and 未注册 of one group."""

    male: int = 0
    female: int = 0
    in_school: int = 0
    pending: int = 0

    def add(self, other: Counts) -> None:
        self.male += other.male
        self.female += other.female
        self.in_school += other.in_school
        self.pending += other.pending

    def place(self) -> list[Value]:
        return [self.male, self.female, self.in_school, self.pending]

    def sexes(self) -> list[Value]:
        return [self.male, self.female, self.in_school]


@dataclass
class Cube:
    by_school: dict[int, Counts] = field(default_factory=dict)
    by_grade: dict[tuple[str, int], Counts] = field(default_factory=dict)
    by_ethnicity: dict[str, Counts] = field(default_factory=dict)
    # (audit_state, status, sex) -> records
    by_line: dict[tuple[str, str, str], int] = field(default_factory=dict)
    total: Counts = field(default_factory=Counts)
    # flag key -> [在读 male, 在读 female, 在读]
    flags: dict[str, list[int]] = field(default_factory=dict)


def cube(school_ids: Sequence[int]) -> Cube:
    """Every breakdown of the schools' live counts, in one query."""
    d = facade.count_definitions()
    out = Cube(flags={f.key: [0, 0, 0] for f in d.flags})
    if not school_ids:
        return out
    selects, params = _in_school_sums(d, flags=True)
    sql = (
        "SELECT GROUPING(school_id, stage, ethnicity, audit_state), school_id, stage, "
        "entry_year, ethnicity, audit_state, status, sex, "
        + ", ".join(selects)
        + f" FROM {SchoolCount._meta.db_table} WHERE school_id = ANY(%s)"
        " GROUP BY GROUPING SETS ((school_id), (stage, entry_year), (ethnicity),"
        " (audit_state, status, sex), ())"
    )
    params.append(list(school_ids))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        result = cursor.fetchall()
    _cube_fill(out, d, result)
    return out


def _cube_fill(out: Cube, d: Any, result: Iterable[Sequence[Any]]) -> None:
    """Fold the rows of a GROUPING SETS aggregate (cube() or the county rollup, whose
    GROUPING bits are cube()'s with the school's bit set) into `out`."""
    for g, school_id, stage, entry_year, ethnicity, audit_state, status, sex, *sums in result:
        m, f, t, p, n, *flag_sums = (int(v or 0) for v in sums)
        counts = Counts(m, f, t, p)
        if g == _BY_SCHOOL:
            out.by_school[school_id] = counts
        elif g == _BY_GRADE:
            out.by_grade[(stage, entry_year)] = counts
        elif g == _BY_ETHNICITY:
            out.by_ethnicity[ethnicity] = counts
        elif g == _BY_LINE:
            out.by_line[(audit_state, status, sex)] = n
        elif g == _TOTAL:
            out.total = counts
            for i, flag in enumerate(d.flags):
                male, female = flag_sums[2 * i], flag_sums[2 * i + 1]
                out.flags[flag.key] = [male, female, male + female]


def _in_school_sums(d: Any, *, flags: bool) -> tuple[list[str], list[Any]]:
    """The SUM ... FILTER expressions of 在读 男, 女, 在读, 未注册, all (and the flags by
    sex), with their parameters, from the registry's definitions (facade)."""
    ins = "audit_state = %s AND status = %s"
    ins_params: list[Any] = [d.in_school_audit, d.in_school_status]
    selects = [
        f"SUM(students) FILTER (WHERE {ins} AND sex = %s)",
        f"SUM(students) FILTER (WHERE {ins} AND sex = %s)",
        f"SUM(students) FILTER (WHERE {ins})",
        "SUM(students) FILTER (WHERE audit_state = ANY(%s))",
        "SUM(students)",
    ]
    params: list[Any] = [*ins_params, d.male, *ins_params, d.female, *ins_params]
    params.append(list(d.pending_states))
    if flags:
        for flag in d.flags:
            column = _FLAG_COLUMNS[flag.key]
            selects.append(f"SUM({column}) FILTER (WHERE {ins} AND sex = %s)")
            selects.append(f"SUM({column}) FILTER (WHERE {ins} AND sex = %s)")
            params += [*ins_params, d.male, *ins_params, d.female]
    return selects, params


# The flag columns, named after registry.counts.FLAG_KEYS in SchoolCount and the rollups.
_FLAG_COLUMNS = {fl.name: fl.column for fl in SchoolCount._meta.concrete_fields}
_ROLLUP_COLUMNS = (
    "stage, entry_year, sex, ethnicity, status, audit_state, students, left_behind, "
    "migrant_child, disability, boarding, needs_aid, boarding_subsidy, only_child"
)


def cube_rollup(
    school_ids: Sequence[int], counties: Sequence[str], *, breakdowns: bool = True
) -> Cube:
    """The same Cube as cube(), for whole counties: the breakdowns from the county rollup
    (CountyCount plus the deltas not folded in yet) and the per-school figures from
    SchoolTotal. `counties` are the 12-digit codes; every school of them is in scope."""
    d = facade.count_definitions()
    out = Cube(flags={f.key: [0, 0, 0] for f in d.flags})
    if breakdowns and counties:
        _rollup_breakdowns(out, d, counties)
    if school_ids:
        # One array parameter, not an IN list of thousands of placeholders (building
        # and splitting those cost more than the read itself for a province).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT school_id, in_school_male, in_school_female, in_school, pending"
                f" FROM {SchoolTotal._meta.db_table} WHERE school_id = ANY(%s)",
                [list(school_ids)],
            )
            for school_id, *sums in cursor.fetchall():
                out.by_school[school_id] = Counts(*sums)
    return out


def _rollup_breakdowns(out: Cube, d: Any, counties: Sequence[str]) -> None:
    selects, params = _in_school_sums(d, flags=True)
    counts_table = CountyCount._meta.db_table
    delta_table = CountyDelta._meta.db_table
    # The counties' cells are first summed over the counties (plain SUMs, one hash
    # aggregate: a province's ~25,000 rows become the few hundred combinations of
    # grade, sex, ethnicity and line); only those go through the FILTERed sums of the
    # grouping sets, which cost ~20 aggregates a row and a sort per set.
    dims = "stage, entry_year, sex, ethnicity, status, audit_state"
    measures = [c.strip() for c in _ROLLUP_COLUMNS.split(",")][6:]
    summed = ", ".join(f"SUM({m}) AS {m}" for m in measures)
    sql = (
        # 8 | ...: the school's GROUPING bit of cube(), never grouped here (no school).
        "SELECT 8 | GROUPING(stage, ethnicity, audit_state), NULL, stage, entry_year,"
        " ethnicity, audit_state, status, sex, "
        + ", ".join(selects)
        + f" FROM (SELECT {dims}, {summed} FROM ("
        f"SELECT {_ROLLUP_COLUMNS} FROM {counts_table} WHERE county_id = ANY(%s)"
        f" UNION ALL SELECT {_ROLLUP_COLUMNS} FROM {delta_table} WHERE county_id = ANY(%s)"
        f") cells GROUP BY {dims}) t"
        " GROUP BY GROUPING SETS ((stage, entry_year), (ethnicity), (audit_state, status, sex), ())"
    )
    params += [list(counties), list(counties)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        result = cursor.fetchall()
    _cube_fill(out, d, result)


# The tables that need only the per-school figures (no breakdown query).
PLACE_TABLES = frozenset({"counties", "townships", "schools"})


def scope_cube(scope: Scope, *, only: str = "") -> Cube:
    """A region or a county is whole counties: read from the rollups. A township or a
    school is a few schools: summed from their SchoolCount cells. `only`: the one table
    wanted (an export, the API), so a place table skips the breakdowns."""
    if scope.level in ("region", "county"):
        counties = sorted({s.county.ljust(12, "0") for s in scope.schools})
        return cube_rollup(scope.school_ids, counties, breakdowns=only not in PLACE_TABLES)
    return cube(scope.school_ids)


# -- tables ---------------------------------------------------------------------------


def _stacked(title: str, rows: Iterable[Row], *, limit: int = 30) -> Chart:
    """男/女 stacked bars of 在读 (the first two values of each row)."""
    shown = list(rows)[:limit]
    return Chart(
        title=title,
        categories=[r.label for r in shown],
        series=[
            Series("男", [_num(r.values[-4 if len(r.values) >= 4 else 0]) for r in shown]),
            Series("女", [_num(r.values[-3 if len(r.values) >= 4 else 1]) for r in shown]),
        ],
        kind="stacked",
        unit="人",
    )


def _num(value: Value) -> int | float | None:
    return value if isinstance(value, int | float) else None


def _place_table(
    key: str, title: str, groups: dict[Any, tuple[str, Counts]], kind: str
) -> DashTable:
    rows = [
        Row(label, counts.place(), (kind, str(code)) if code else None)
        for code, (label, counts) in groups.items()
    ]
    table = DashTable(key, title, PLACE_COLUMNS, rows)
    table.chart = _stacked(f"{title}（在读）", rows)
    table.note = "在读 = 已注册且在读；未注册（待提交、审核中、问题学籍）单列，不计入在读。"
    return table


def table_counties(scope: Scope, c: Cube) -> DashTable:
    groups: dict[str, tuple[str, Counts]] = {}
    for s in scope.schools:
        if s.county not in groups:
            groups[s.county] = (s.county_name, Counts())
        found = c.by_school.get(s.id)
        if found is not None:
            groups[s.county][1].add(found)
    return _place_table("counties", "按县（市、区）", groups, "county")


def table_townships(scope: Scope, c: Cube) -> DashTable:
    groups: dict[str, tuple[str, Counts]] = {}
    for s in sorted(scope.schools, key=lambda s: (s.township == "", s.township)):
        label, counts = groups.setdefault(s.township, (s.township_name, Counts()))
        counts.add(c.by_school.get(s.id, Counts()))
    return _place_table("townships", "按乡镇（街道）", groups, "township")


def table_schools(scope: Scope, c: Cube) -> DashTable:
    """One row per school, largest 在读 first; a multi-county scope adds the county."""
    # A province has 5,000 rows here: one shared empty Counts, no lambda lookups twice.
    by_school, empty = c.by_school, Counts()
    counted = [(by_school.get(s.id, empty), s) for s in scope.schools]
    counted.sort(key=lambda pair: (-pair[0].in_school, pair[1].name))
    multi = scope.multi_county
    rows = [
        Row(
            s.name,
            [s.county_name, *counts.place()] if multi else counts.place(),
            ("school", str(s.id)),
        )
        for counts, s in counted
    ]
    columns = (["县（市、区）"] if scope.multi_county else []) + PLACE_COLUMNS
    table = DashTable("schools", "按学校", columns, rows, total=len(rows))
    table.chart = _stacked("在读人数最多的学校", rows, limit=15)
    return table


def table_stages(scope: Scope, c: Cube) -> DashTable:
    labels = facade.stage_labels()
    by_stage: dict[str, Counts] = {}
    for (stage, _year), counts in c.by_grade.items():
        by_stage.setdefault(stage, Counts()).add(counts)
    rows = [
        Row(labels.get(stage, stage), by_stage[stage].place())
        for stage in labels
        if stage in by_stage
    ]
    table = DashTable("stages", "按学段", PLACE_COLUMNS, rows)
    table.chart = _stacked("各学段在读人数", rows)
    return table


def table_grades(scope: Scope, c: Cube) -> DashTable:
    """By grade: stage order, youngest last, named by the registry's rule for the current
    school year; at a school's level each row drills into the grade's classes."""
    order = list(facade.stage_labels())
    today = timezone.localdate()
    keys = sorted(c.by_grade, key=lambda k: (order.index(k[0]) if k[0] in order else 99, -k[1]))
    school = scope.school if scope.level == "school" else None
    rows = [
        Row(
            facade.grade_label(stage, year, today),
            c.by_grade[(stage, year)].place(),
            ("grade", f"{school.id}:{stage}:{year}") if school else None,
        )
        for stage, year in keys
    ]
    table = DashTable("grades", "按年级", PLACE_COLUMNS, rows)
    table.chart = _stacked("各年级在读人数", rows)
    return table


def table_sex(scope: Scope, c: Cube) -> DashTable:
    rows = [Row("男", [c.total.male]), Row("女", [c.total.female])]
    table = DashTable("sexes", "按性别（在读）", ["在读"], rows)
    table.chart = Chart(
        title="在读学生性别构成",
        categories=["男", "女"],
        series=[Series("在读", [c.total.male, c.total.female])],
        kind="pie",
        unit="人",
    )
    return table


def table_status(scope: Scope, c: Cube) -> DashTable:
    """Every line of registry.counts.status_lines(), zeros included, by sex."""
    d = facade.count_definitions()
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (audit_state, status, sex), n in c.by_line.items():
        line = facade.line_of(audit_state=audit_state, status=status)
        if not line:
            continue
        row = found[line]
        if sex == d.male:
            row[0] += n
        elif sex == d.female:
            row[1] += n
        row[2] += n
    rows = [Row(line.label, list(found.get(line.key, [0, 0, 0]))) for line in d.lines]
    table = DashTable("status", "按学籍状态", ["男", "女", "合计"], rows)
    table.chart = Chart(
        title="按学籍状态",
        categories=[r.label for r in rows],
        series=[Series("人数", [_num(r.values[2]) for r in rows])],
        kind="hbar",
        unit="人",
    )
    table.note = "在读 = 已注册且在读；未注册的学籍按审核状态单列，不计入在读。"
    return table


def table_ethnicity(scope: Scope, c: Cube) -> DashTable:
    labels = facade.ethnicity_labels()
    rows = [
        Row(labels[code], c.by_ethnicity[code].sexes())
        for code in labels
        if code in c.by_ethnicity and c.by_ethnicity[code].in_school
    ]
    if "" in c.by_ethnicity and c.by_ethnicity[""].in_school:
        rows.append(Row("未填写", c.by_ethnicity[""].sexes()))
    rows += [
        Row(f"其他（{code}）", counts.sexes())
        for code, counts in c.by_ethnicity.items()
        if code and code not in labels and counts.in_school
    ]
    table = DashTable("ethnicities", "按民族（在读）", SEX_COLUMNS, rows)
    table.chart = Chart(
        title="按民族（在读）",
        categories=[r.label for r in rows],
        series=[Series("在读", [_num(r.values[2]) for r in rows])],
        kind="bar",
        unit="人",
    )
    return table


def table_flags(scope: Scope, c: Cube) -> DashTable:
    d = facade.count_definitions()
    rows = [Row(f.label, list(c.flags.get(f.key, [0, 0, 0]))) for f in d.flags]
    table = DashTable("flags", "按学生类别（在读）", SEX_COLUMNS, rows)
    table.chart = Chart(
        title="各类学生人数（在读）",
        categories=[r.label for r in rows],
        series=[Series("在读", [_num(r.values[2]) for r in rows])],
        kind="hbar",
        unit="人",
    )
    table.note = "一名学生可同时属于多个类别；各行分别计数，不相加。"
    return table


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months_back(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def table_trend(scope: Scope, c: Cube) -> DashTable:
    """The last months from the monthly snapshots (MonthTotal), then today's live counts.
    A month without a snapshot shows "—", never a figure made up from today's rows."""
    today = timezone.localdate()
    this_month = _month_start(today)
    first = _months_back(this_month, TREND_MONTHS - 1)
    got: dict[dt.date, list[int]] = {}
    # Whole counties read the county totals; a township or a school its schools' rows.
    if scope.level in ("region", "county"):
        source, column = MonthCountyTotal._meta.db_table, "county_id"
        keys: list[Any] = sorted({s.county.ljust(12, "0") for s in scope.schools})
    else:
        source, column, keys = MonthTotal._meta.db_table, "school_id", scope.school_ids
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT month, SUM(in_school_male), SUM(in_school_female), SUM(in_school),"
                f" SUM(pending) FROM {source}"
                f" WHERE {column} = ANY(%s) AND month >= %s AND month < %s GROUP BY month",
                [keys, first, this_month],
            )
            for month, *sums in cursor.fetchall():
                got[month] = [int(v or 0) for v in sums]
    rows: list[Row] = []
    for back in range(TREND_MONTHS - 1, 0, -1):
        month = _months_back(this_month, back)
        values: list[Value] = list(got[month]) if month in got else [None, None, None, None]
        rows.append(Row(f"{month:%Y-%m}", values))
    rows.append(Row(f"{today:%Y-%m-%d}（实时）", c.total.place()))
    table = DashTable("trend", "按月趋势", PLACE_COLUMNS, rows)
    table.chart = Chart(
        title="每月在读人数",
        categories=[r.label for r in rows],
        series=[Series("在读", [_num(r.values[2]) for r in rows])],
        kind="line",
        unit="人",
    )
    table.note = "各月为当月最后一次快照（每晚生成）；最后一行为当前实时数。"
    return table


def table_classes(scope: Scope, c: Cube | None = None) -> DashTable:
    """The grade's classes of one school, counted inside that school (its facade)."""
    assert scope.school is not None
    classes = facade.grade_class_counts(
        schema_name=scope.school.schema_name, stage=scope.stage, entry_year=scope.entry_year
    )
    rows = [Row(k.name, [k.male, k.female, k.in_school, k.pending]) for k in classes]
    table = DashTable("classes", "按班级", PLACE_COLUMNS, rows)
    table.chart = _stacked("各班在读人数", rows)
    return table


# The tables of each level, in page order; the API and the exports accept exactly these.
BUILDERS = {
    "counties": table_counties,
    "townships": table_townships,
    "schools": table_schools,
    "stages": table_stages,
    "grades": table_grades,
    "sexes": table_sex,
    "status": table_status,
    "ethnicities": table_ethnicity,
    "flags": table_flags,
    "trend": table_trend,
}
TABLE_TITLES = {
    "counties": "按县（市、区）",
    "townships": "按乡镇（街道）",
    "schools": "按学校",
    "stages": "按学段",
    "grades": "按年级",
    "sexes": "按性别（在读）",
    "status": "按学籍状态",
    "ethnicities": "按民族（在读）",
    "flags": "按学生类别（在读）",
    "trend": "按月趋势",
    "classes": "按班级",
}


def level_tables(scope: Scope) -> list[str]:
    """The tables a level shows: a multi-county region by county, a county by township,
    a township by school; a school by grade; a grade by class."""
    if scope.level == "grade":
        return ["classes"]
    common = ["stages", "grades", "sexes", "status", "ethnicities", "flags", "trend"]
    if scope.level == "school":
        return ["grades", "sexes", "status", "ethnicities", "flags", "trend"]
    if scope.level == "township":
        return ["schools", *common]
    if scope.multi_county:
        return ["counties", "schools", *common]
    return ["townships", "schools", *common]


@dataclass(frozen=True)
class Totals:
    schools: int
    male: int
    female: int
    in_school: int
    pending: int


def dashboard(scope: Scope) -> tuple[Totals, list[DashTable]]:
    """The level's totals and tables (one aggregate query, one for the trend)."""
    if scope.level == "grade":
        table = table_classes(scope)
        sums = Counts()
        for r in table.rows:
            male, female, in_school, pending = (int(v or 0) for v in r.values)
            sums.add(Counts(male, female, in_school, pending))
        return Totals(1, sums.male, sums.female, sums.in_school, sums.pending), [table]
    c = scope_cube(scope)
    tables = [BUILDERS[key](scope, c) for key in level_tables(scope)]
    total = c.total
    return (
        Totals(len(scope.schools), total.male, total.female, total.in_school, total.pending),
        tables,
    )


def one_table(scope: Scope, key: str) -> DashTable | None:
    """One table of the scope (exports, the API); None when the level has no such table."""
    if key not in level_tables(scope):
        return None
    if key == "classes":
        return table_classes(scope)
    return BUILDERS[key](scope, scope_cube(scope, only=key))
