"""查询统计's reads. Every table is built from one "cube": the school's records grouped by
class, sex, count line (tenant_apps.registry.counts), ethnicity, household type and
flags, with their number. Today the cube is read live from the registry; for an earlier
date it is the latest dated snapshot on or before that date (reports.models.StatsSnapshot),
so history is read as it was and never recomputed from today's rows. Because live and
past figures go through the same code, a table means the same on every date.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.utils import timezone

from common.charts import Chart, Series
from tenant_apps.registry import counts
from tenant_apps.registry.codes import table as code_table
from tenant_apps.registry.models import SchoolClass, StatusChange, Student
from tenant_apps.reports.models import PromotionSettings, StatsSnapshot, StatsSnapshotRow

MALE, FEMALE = Student.Sex.MALE.value, Student.Sex.FEMALE.value
SEX_COLUMNS = ["男", "女", "合计"]
# 升学率 until the school sets its own definition: of the graduates (毕业, 结业), those
# who graduated (毕业) count as going on; the registry holds no destination school.
DEFAULT_COHORT = [Student.Status.GRADUATED.value, Student.Status.COMPLETED.value]
DEFAULT_PROMOTED = [Student.Status.GRADUATED.value]
TREND_YEARS = 3  # 纵向对比: the date asked for and the same day of this many years before


@dataclass(frozen=True)
class Cell:
    """One cell of the cube: how many records share these values."""

    class_id: int | None
    class_no: str
    class_name: str
    grade_name: str
    stage: str
    sex: str
    line: str
    ethnicity: str
    household_type: str
    flags: tuple[str, ...]
    n: int


@dataclass(frozen=True)
class Cube:
    cells: list[Cell]
    # "live", "snapshot" or "none" (no snapshot on or before the date asked for)
    source: str
    snapshot_date: dt.date | None = None

    def in_school(self) -> list[Cell]:
        return [c for c in self.cells if c.line == "in_school"]


@dataclass
class Table:
    """One 查询统计 table as the page, the Excel export and the API show it."""

    key: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[int | float | None]]]
    chart: Chart | None = None
    note: str = ""
    as_of: dt.date | None = None
    source: str = "live"
    snapshot_date: dt.date | None = None
    # 学生流失情况's list of pupils: (name, class, kind, date), names as lists show them.
    pupils: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Params:
    """What a table may be asked for: a date (headcounts, as of), a period (流失, 异动),
    a grade (横向对比 within one grade, by its name)."""

    date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    grade: str = ""

    def day(self) -> dt.date:
        return self.date or timezone.localdate()

    def period(self) -> tuple[dt.date, dt.date]:
        end = self.end or timezone.localdate()
        start = self.start or end.replace(month=1, day=1)
        return (start, end) if start <= end else (end, start)


# -- the cube -------------------------------------------------------------------------


def _class_key(class_no: str) -> tuple[str, str, str]:
    """Classes and grades in school order: stage digit, then entry year, then number
    (class_no is entry year + stage digit + number)."""
    return (class_no[4:5], class_no[:4], class_no)


# The dimensions a cube can be grouped by. A table asks only for the ones it shows, so
# the database aggregates (live or snapshot alike) and Python sees a few rows.
ALL_DIMS = frozenset({"class", "sex", "line", "ethnicity", "household_type", "flags"})
_LIVE_FIELDS = {
    "class": ("school_class_id",),
    "sex": ("sex",),
    "line": ("audit_state", "status"),
    "ethnicity": ("ethnicity",),
    "household_type": ("household_type",),
    "flags": counts.FLAG_SOURCE_FIELDS,
}
_SNAPSHOT_FIELDS = {
    "class": ("class_id", "class_no", "class_name", "grade_name", "stage"),
    "sex": ("sex",),
    "line": ("line",),
    "ethnicity": ("ethnicity",),
    "household_type": ("household_type",),
    "flags": ("flags",),
}


def cube_live(dims: frozenset[str] = ALL_DIMS, *, in_school_only: bool = False) -> Cube:
    """The cube of the registry as it is now, grouped by `dims` in one query (with
    every dimension: what a snapshot keeps). `in_school_only`: 在读 records only."""
    classes = {c.pk: c for c in SchoolClass.objects.all()} if "class" in dims else {}
    fields = [f for d in sorted(dims) for f in _LIVE_FIELDS[d]]
    qs = Student.objects.filter(counts.IN_SCHOOL if in_school_only else counts.LIVE)
    grouped: dict[tuple[int | None, str, str, str, str, tuple[str, ...]], int] = defaultdict(int)
    for row in qs.values(*fields).annotate(n=Count("id")).order_by():
        if "line" in dims:
            line = counts.line_of(audit_state=row["audit_state"], status=row["status"])
        else:
            line = "in_school" if in_school_only else ""
        flags = tuple(k for k, on in counts.flags_of(row).items() if on) if "flags" in dims else ()
        key = (
            row.get("school_class_id"),
            row.get("sex", ""),
            line,
            row.get("ethnicity") or "",
            row.get("household_type") or "",
            flags,
        )
        grouped[key] += row["n"]
    cells = []
    for (class_id, sex, line, ethnicity, household, flags), n in grouped.items():
        klass = classes.get(class_id) if class_id is not None else None
        cells.append(
            Cell(
                klass.pk if klass else None,
                klass.class_no if klass else "",
                klass.name if klass else "",
                klass.grade_name if klass else "",
                klass.stage if klass else "",
                sex,
                line,
                ethnicity,
                household,
                flags,
                n,
            )
        )
    return Cube(cells, "live")


def snapshot_on_or_before(day: dt.date) -> StatsSnapshot | None:
    return StatsSnapshot.objects.filter(date__lte=day).order_by("-date").first()


def cube_of_snapshot(
    snapshot: StatsSnapshot, dims: frozenset[str] = ALL_DIMS, *, in_school_only: bool = False
) -> Cube:
    """A snapshot's cube grouped by `dims` (summed in the database)."""
    fields = [f for d in sorted(dims) for f in _SNAPSHOT_FIELDS[d]]
    qs = StatsSnapshotRow.objects.filter(snapshot=snapshot)
    if in_school_only:
        qs = qs.filter(line="in_school")
    cells = []
    for r in qs.values(*fields).annotate(total=Sum("n")).order_by():
        cells.append(
            Cell(
                r.get("class_id"),
                r.get("class_no", ""),
                r.get("class_name", ""),
                r.get("grade_name", ""),
                r.get("stage", ""),
                r.get("sex", ""),
                r.get("line", "in_school" if in_school_only else ""),
                r.get("ethnicity", ""),
                r.get("household_type", ""),
                tuple(r.get("flags", ())),
                int(r["total"]),
            )
        )
    return Cube(cells, "snapshot", snapshot.date)


def cube_as_of(
    day: dt.date | None, dims: frozenset[str] = ALL_DIMS, *, in_school_only: bool = False
) -> Cube:
    """Live counts for today (or no date); for an earlier day the latest snapshot on or
    before it; an empty cube marked "none" when there is no such snapshot."""
    if day is None or day >= timezone.localdate():
        return cube_live(dims, in_school_only=in_school_only)
    snapshot = snapshot_on_or_before(day)
    if snapshot is None:
        return Cube([], "none")
    return cube_of_snapshot(snapshot, dims, in_school_only=in_school_only)


# -- headcount tables -----------------------------------------------------------------


def _by_sex(cells: Iterable[Cell], label: Callable[[Cell], Iterable[str]]) -> dict[str, list[int]]:
    """{row label: [男, 女, 合计]}; `label` gives each cell's rows (a cell with several
    flags counts on each of their rows)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for c in cells:
        for name in label(c):
            row = out[name]
            if c.sex == MALE:
                row[0] += c.n
            elif c.sex == FEMALE:
                row[1] += c.n
            row[2] += c.n
    return out


def _sex_table(
    key: str, title: str, rows: list[tuple[str, list[int]]], *, chart_title: str
) -> Table:
    chart = Chart(
        title=chart_title,
        categories=[r[0] for r in rows],
        series=[
            Series("男", [r[1][0] for r in rows]),
            Series("女", [r[1][1] for r in rows]),
        ],
        kind="stacked",
        unit="人",
    )
    return Table(key, title, SEX_COLUMNS, [(n, list(v)) for n, v in rows], chart)


def _dated(table: Table, cube: Cube, params: Params) -> Table:
    table.as_of = params.day()
    table.source = cube.source
    table.snapshot_date = cube.snapshot_date
    if cube.source == "none":
        table.note = "该日期（含）之前没有统计快照，无法给出当时的人数。"
    elif cube.source == "snapshot" and cube.snapshot_date is not None:
        table.note = f"按 {cube.snapshot_date:%Y-%m-%d} 的统计快照。"
    return table


def table_grade_sex(params: Params) -> Table:
    cube = cube_as_of(params.date, frozenset({"class", "sex"}), in_school_only=True)
    cells = cube.in_school()
    order = {c.grade_name: _class_key(c.class_no)[:2] for c in cells}
    found = _by_sex(cells, lambda c: [c.grade_name])
    rows = sorted(found.items(), key=lambda kv: order[kv[0]])
    table = _sex_table("grade_sex", "各年级在读男女生人数", rows, chart_title="各年级在读人数")
    return _dated(table, cube, params)


def table_class_sex(params: Params) -> Table:
    """Class × sex; with a grade, only that grade's classes (横向对比)."""
    cube = cube_as_of(params.date, frozenset({"class", "sex"}), in_school_only=True)
    cells = [c for c in cube.in_school() if not params.grade or c.grade_name == params.grade]
    order = {c.class_name: _class_key(c.class_no) for c in cells}
    found = _by_sex(cells, lambda c: [c.class_name])
    rows = sorted(found.items(), key=lambda kv: order[kv[0]])
    title = f"{params.grade}各班在读男女生人数" if params.grade else "各班在读男女生人数"
    table = _sex_table("class_sex", title, rows, chart_title="各班在读人数")
    return _dated(table, cube, params)


def table_status(params: Params) -> Table:
    """Every line of registry.counts.status_lines(), zeros included."""
    cube = cube_as_of(params.date, frozenset({"sex", "line"}))
    found = _by_sex(cube.cells, lambda c: [c.line])
    rows: list[tuple[str, list[int | float | None]]] = [
        (line.label, list(found.get(line.key, [0, 0, 0]))) for line in counts.status_lines()
    ]
    chart = Chart(
        title="按学籍状态",
        categories=[r[0] for r in rows],
        series=[Series("人数", [r[1][2] for r in rows])],
        kind="hbar",
        unit="人",
    )
    table = Table("status", "按学籍状态统计", SEX_COLUMNS, rows, chart)
    table.note = "在读 = 已注册且在读；未注册（待提交、审核中、问题学籍）的学籍单列，不计入在读。"
    return _dated(table, cube, params)


def _coded_table(key: str, title: str, code_name: str, attr: str, params: Params) -> Table:
    cube = cube_as_of(params.date, frozenset({"sex", attr}), in_school_only=True)
    labels = code_table(code_name).labels
    found = _by_sex(cube.in_school(), lambda c: [getattr(c, attr)])
    order = list(labels)
    rows = [(labels[code], found[code]) for code in order if code in found]
    if "" in found:
        rows.append(("未填写", found[""]))
    rows += [(f"其他（{code}）", v) for code, v in found.items() if code and code not in labels]
    table = _sex_table(key, title, rows, chart_title=title)
    return _dated(table, cube, params)


def table_ethnicity(params: Params) -> Table:
    return _coded_table("ethnicity", "按民族统计在读人数", "ethnicity", "ethnicity", params)


def table_household(params: Params) -> Table:
    return _coded_table(
        "household", "按户口性质统计在读人数", "household_type", "household_type", params
    )


def table_flags(params: Params) -> Table:
    cube = cube_as_of(params.date, frozenset({"sex", "flags"}), in_school_only=True)
    found = _by_sex(cube.in_school(), lambda c: c.flags)
    rows = [(f.label, list(found.get(f.key, [0, 0, 0]))) for f in counts.FLAGS]
    table = _sex_table("flags", "按学生类别统计在读人数", rows, chart_title="各类学生人数")
    table.note = "一名学生可同时属于多个类别；各行分别计数，不相加。"
    return _dated(table, cube, params)


def table_headcount(params: Params) -> Table:
    """学生人数统计 as of a date: 在读 by sex, and the records counted apart."""
    cube = cube_as_of(params.date, frozenset({"class", "sex", "line"}))
    in_school = _by_sex(cube.in_school(), lambda c: ["在读"]).get("在读", [0, 0, 0])
    pending = _by_sex(
        [c for c in cube.cells if c.line.startswith("audit_")], lambda c: ["未注册"]
    ).get("未注册", [0, 0, 0])
    classes = len({c.class_no for c in cube.in_school()})
    rows: list[tuple[str, list[int | float | None]]] = [
        ("在读学生", list(in_school)),
        ("未注册（不计入在读）", list(pending)),
        ("有在读学生的班级数", [None, None, classes]),
    ]
    table = Table("headcount", "学生人数统计", SEX_COLUMNS, rows)
    table.chart = Chart(
        title="在读学生性别构成",
        categories=["男", "女"],
        series=[Series("在读", in_school[:2])],
        kind="pie",
        unit="人",
    )
    return _dated(table, cube, params)


def _totals_of_snapshot(snapshot: StatsSnapshot) -> list[int]:
    """[在读男, 在读女, 在读, 未注册] of a snapshot, summed in the database."""
    got = StatsSnapshotRow.objects.filter(snapshot=snapshot).aggregate(
        male=Sum("n", filter=Q(line="in_school", sex=MALE)),
        female=Sum("n", filter=Q(line="in_school", sex=FEMALE)),
        total=Sum("n", filter=Q(line="in_school")),
        pending=Sum("n", filter=Q(line__startswith="audit_")),
    )
    return [got["male"] or 0, got["female"] or 0, got["total"] or 0, got["pending"] or 0]


def table_trend(params: Params) -> Table:
    """纵向对比: the date asked for against the same day of earlier years."""
    day = params.day()
    rows: list[tuple[str, list[int | float | None]]] = []
    missing = []
    for back in range(TREND_YEARS, -1, -1):
        try:
            when = day.replace(year=day.year - back)
        except ValueError:  # 29 February
            when = day.replace(year=day.year - back, day=28)
        label = f"{when:%Y-%m-%d}"
        if when >= timezone.localdate():
            live = registry_totals()
            rows.append((label, live))
            continue
        snapshot = snapshot_on_or_before(when)
        if snapshot is None:
            missing.append(label)
            rows.append((label, [None, None, None, None]))
        else:
            rows.append((label, list(_totals_of_snapshot(snapshot))))
    chart = Chart(
        title="历年在读人数",
        categories=[r[0] for r in rows],
        series=[Series("在读", [r[1][2] for r in rows])],
        kind="line",
        unit="人",
    )
    table = Table("trend", "历年对比（纵向）", ["男", "女", "在读合计", "未注册"], rows, chart)
    table.as_of = day
    if missing:
        table.note = "以下日期（含）之前没有统计快照：" + "、".join(missing) + "。"
    return table


def registry_totals() -> list[int | float | None]:
    """[在读男, 在读女, 在读, 未注册] now, through registry.counts."""
    got = Student.objects.aggregate(
        male=Count("id", filter=counts.IN_SCHOOL & Q(sex=MALE)),
        female=Count("id", filter=counts.IN_SCHOOL & Q(sex=FEMALE)),
        total=Count("id", filter=counts.IN_SCHOOL),
        pending=Count("id", filter=counts.PENDING),
    )
    return [got["male"], got["female"], got["total"], got["pending"]]


# -- period tables (dated records: status changes) --------------------------------------


def _done_changes(params: Params) -> tuple[dt.date, dt.date, Q]:
    start, end = params.period()
    return (
        start,
        end,
        Q(state=StatusChange.State.DONE, change_date__gte=start, change_date__lte=end),
    )


def table_attrition(params: Params) -> Table:
    """学生流失情况: approved 流失（辍学） and 其他离校 changes dated in the period, by
    grade and class (the pupil's class), with the list of pupils."""
    start, end, where = _done_changes(params)
    kinds = list(counts.ATTRITION_KINDS)
    labels = dict(StatusChange.Kind.choices)
    changes = list(
        StatusChange.objects.filter(where, kind__in=kinds)
        .select_related("student__school_class")
        .order_by("student__school_class__class_no", "change_date", "pk")
    )
    by_class: dict[str, list[int]] = defaultdict(lambda: [0] * (len(kinds) + 1))
    by_grade: dict[str, list[int]] = defaultdict(lambda: [0] * (len(kinds) + 1))
    order: dict[str, tuple[str, ...]] = {}
    grade_of: dict[str, str] = {}
    pupils = []
    for ch in changes:
        klass = ch.student.school_class
        i = kinds.index(ch.kind)
        for bucket, name in ((by_class, klass.name), (by_grade, klass.grade_name)):
            bucket[name][i] += 1
            bucket[name][-1] += 1
        order[klass.name] = _class_key(klass.class_no)
        order[klass.grade_name] = _class_key(klass.class_no)[:2]
        grade_of[klass.name] = klass.grade_name
        pupils.append(
            (ch.student.name, klass.name, str(labels[ch.kind]), f"{ch.change_date:%Y-%m-%d}")
        )
    rows: list[tuple[str, list[int | float | None]]] = []
    for grade in sorted(by_grade, key=lambda g: order[g]):
        rows.append((f"{grade}（小计）", list(by_grade[grade])))
        for name in sorted((n for n in by_class if grade_of[n] == grade), key=lambda n: order[n]):
            rows.append((name, list(by_class[name])))
    total = [sum(v[i] for v in by_grade.values()) for i in range(len(kinds) + 1)]
    rows.append(("合计", list(total)))
    columns = [str(labels[k]) for k in kinds] + ["合计"]
    chart_rows = [(g, by_grade[g][-1]) for g in sorted(by_grade, key=lambda g: order[g])]
    chart = Chart(
        title="各年级流失人数",
        categories=[r[0] for r in chart_rows],
        series=[Series("流失", [r[1] for r in chart_rows])],
        kind="bar",
        unit="人",
    )
    table = Table("attrition", "学生流失情况", columns, rows, chart, pupils=pupils)
    table.note = f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d} 已生效的流失（辍学）与其他离校异动。"
    return table


def table_changes(params: Params) -> Table:
    """异动 counts by kind over a period (approved changes dated in it)."""
    start, end, where = _done_changes(params)
    found = dict(
        StatusChange.objects.filter(where)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("kind", "n")
    )
    rows: list[tuple[str, list[int | float | None]]] = [
        (str(label), [found.get(kind, 0)]) for kind, label in StatusChange.Kind.choices
    ]
    rows.append(("合计", [sum(found.values())]))
    chart = Chart(
        title="各类异动人次",
        categories=[r[0] for r in rows[:-1]],
        series=[Series("人次", [r[1][0] for r in rows[:-1]])],
        kind="hbar",
        unit="人次",
    )
    table = Table("changes", "学籍异动统计", ["人次"], rows, chart)
    table.note = f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d} 已生效的异动。"
    return table


def promotion_settings_get() -> PromotionSettings:
    """The school's 升学率 definition, or the default one (not saved)."""
    found = PromotionSettings.objects.order_by("pk").first()
    return found or PromotionSettings(
        cohort_statuses=list(DEFAULT_COHORT), promoted_statuses=list(DEFAULT_PROMOTED)
    )


def table_promotion(params: Params) -> Table:
    """升学率 per graduating grade: of the registered records whose status is one of the
    cohort statuses, the share whose status is one of the promoted statuses."""
    defn = promotion_settings_get()
    labels = dict(Student.Status.choices)
    cohort = set(defn.cohort_statuses)
    promoted = set(defn.promoted_statuses) & cohort
    found: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in (
        Student.objects.filter(counts.REGISTERED, status__in=cohort)
        .values("school_class__class_no", "school_class__stage", "school_class__entry_year")
        .annotate(
            n=Count("id"),
            up=Count("id", filter=Q(status__in=promoted)),
        )
        .order_by()
    ):
        klass = SchoolClass(
            stage=row["school_class__stage"], entry_year=row["school_class__entry_year"]
        )
        key = _class_key(row["school_class__class_no"])[:2]
        cell = found[(key[0] + key[1], klass.grade_name)]
        cell[0] += row["n"]
        cell[1] += row["up"]
    rows: list[tuple[str, list[int | float | None]]] = []
    for (_, grade), (n, up) in sorted(found.items()):
        rows.append((grade, [n, up, round(100 * up / n, 1) if n else None]))
    chart = Chart(
        title="升学率",
        categories=[r[0] for r in rows],
        series=[Series("升学率", [r[1][2] for r in rows])],
        kind="bar",
        unit="%",
    )
    table = Table("promotion", "升学率", ["毕业生", "升学", "升学率（%）"], rows, chart)
    table.note = (
        "口径（本校设定）：毕业生 = 学籍状态为"
        + "、".join(str(labels[s]) for s in sorted(cohort))
        + "的已注册学籍；升学 = 其中状态为"
        + ("、".join(str(labels[s]) for s in sorted(promoted)) or "（未设定）")
        + "。学籍中没有升入学校的记录，故以学籍状态计算。"
    )
    return table


@dataclass(frozen=True)
class TableSpec:
    key: str
    title: str
    build: Callable[[Params], Table]
    # "date": as of a date; "period": over a period; "grade": a date and a grade
    asks: str


TABLES: dict[str, TableSpec] = {
    spec.key: spec
    for spec in (
        TableSpec("headcount", "学生人数统计", table_headcount, "date"),
        TableSpec("grade_sex", "各年级男女生人数", table_grade_sex, "date"),
        TableSpec("class_sex", "各班男女生人数（横向对比）", table_class_sex, "grade"),
        TableSpec("status", "按学籍状态", table_status, "date"),
        TableSpec("ethnicity", "按民族", table_ethnicity, "date"),
        TableSpec("household", "按户口性质", table_household, "date"),
        TableSpec("flags", "按学生类别（留守、随迁、残疾等）", table_flags, "date"),
        TableSpec("trend", "历年对比（纵向）", table_trend, "date"),
        TableSpec("attrition", "学生流失情况", table_attrition, "period"),
        TableSpec("changes", "学籍异动统计", table_changes, "period"),
        TableSpec("promotion", "升学率", table_promotion, "none"),
    )
}


def grade_names() -> list[str]:
    """The grades that have classes, in school order (for 横向对比's picker)."""
    classes = sorted(SchoolClass.objects.all(), key=lambda c: _class_key(c.class_no))
    return list(dict.fromkeys(c.grade_name for c in classes))


def snapshot_list() -> list[StatsSnapshot]:
    return list(StatsSnapshot.objects.order_by("-date")[:10])
