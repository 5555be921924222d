"""生成报表: the monthly bureau report as a PDF (common.pdf, Noto Sans SC embedded).

The month's figures are its snapshot (CountSnapshot, the latest day of that month the
nightly task ran); the current month without a snapshot yet is read live from
SchoolCount, and the report says which. Totals, then by county (a city or province) or by
school (a county), by stage, by grade and by status line; counts only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone

from common import pdf
from common.exceptions import ApplicationError
from shared_apps.bureau.dashboard.selectors import Scope
from shared_apps.bureau.models import CountSnapshot, MonthTotal
from shared_apps.student_index.models import SchoolCount
from tenant_apps.registry import facade

MSG_MONTH = "月份格式应为 YYYY-MM，例如 2026-11。"
MSG_NO_SNAPSHOT = "{month} 没有统计快照（快照每晚生成），无法生成该月报表。"
MSG_FUTURE = "不能生成尚未到来的月份的报表。"


def month_parse(value: str | None) -> dt.date:
    """The first day of the month asked for ("2026-11"); this month when empty."""
    today = timezone.localdate()
    if not value:
        return today.replace(day=1)
    text = value.strip()
    year, _, mon = text.partition("-")
    if not (len(year) == 4 and year.isdigit() and len(mon) == 2 and mon.isdigit()):
        raise ApplicationError(MSG_MONTH)
    try:
        month = dt.date(int(year), int(mon), 1)
    except ValueError as exc:
        raise ApplicationError(MSG_MONTH) from exc
    if month > today:
        raise ApplicationError(MSG_FUTURE)
    return month


@dataclass(frozen=True)
class MonthCell:
    school_id: int
    stage: str
    entry_year: int
    sex: str
    line: str
    students: int


def month_cells(scope: Scope, month: dt.date) -> tuple[list[MonthCell], str]:
    """The scope's cells of `month` and what they are ("snapshot of YYYY-MM-DD" or live)."""
    ids = scope.school_ids
    taken = (
        MonthTotal.objects.filter(month=month, school_id__in=ids)
        .order_by("-taken_on")
        .values_list("taken_on", flat=True)
        .first()
    )
    snap = CountSnapshot.objects.filter(month=month, school_id__in=ids)
    if taken is not None or snap.exists():
        cells = [
            MonthCell(r["school_id"], r["stage"], r["entry_year"], r["sex"], r["line"], r["n"])
            for r in snap.values("school_id", "stage", "entry_year", "sex", "line")
            .annotate(n=Sum("students"))
            .order_by()
        ]
        when = f"{taken:%Y-%m-%d}" if taken else f"{month:%Y-%m}"
        return cells, f"数据来源：{when} 的月度统计快照。"
    if month != timezone.localdate().replace(day=1):
        raise ApplicationError(MSG_NO_SNAPSHOT.format(month=f"{month:%Y-%m}"))
    grouped: dict[tuple[int, str, int, str, str], int] = defaultdict(int)
    for r in (
        SchoolCount.objects.filter(school_id__in=ids)
        .values("school_id", "stage", "entry_year", "sex", "audit_state", "status")
        .annotate(n=Sum("students"))
        .order_by()
    ):
        line = facade.line_of(audit_state=r["audit_state"], status=r["status"])
        if line:
            grouped[(r["school_id"], r["stage"], r["entry_year"], r["sex"], line)] += r["n"]
    cells = [MonthCell(*key, n) for key, n in grouped.items()]
    return cells, f"本月尚无快照，数据为 {timezone.localdate():%Y-%m-%d} 的实时数。"


def _sexes(cells: list[MonthCell], male: str, female: str) -> list[int]:
    m = sum(c.students for c in cells if c.sex == male)
    f = sum(c.students for c in cells if c.sex == female)
    return [m, f, sum(c.students for c in cells)]


def report_rows(scope: Scope, cells: list[MonthCell], month: dt.date) -> list[list[str]]:
    """The report's one table: section rows (【按学段】) then its lines, 在读 by sex, and
    every status line over all live records. Grades are named as of `month`."""
    d = facade.count_definitions()
    ins = [c for c in cells if c.line == "in_school"]
    rows: list[list[str]] = []

    def section(title: str, groups: dict[str, list[MonthCell]]) -> None:
        rows.append([f"【{title}】", "", "", ""])
        for label, group in groups.items():
            rows.append([label, *(str(v) for v in _sexes(group, d.male, d.female))])

    pending = [c for c in cells if c.line.startswith("audit_")]
    section("合计", {"在读学生": ins, "未注册（不计入在读）": pending})
    metas = {s.id: s for s in scope.schools}
    places: dict[str, list[MonthCell]] = {}
    if scope.multi_county:
        for s in scope.schools:
            places.setdefault(s.county_name, [])
        for c in ins:
            places[metas[c.school_id].county_name].append(c)
        section("按县（市、区），在读", places)
    else:
        for s in scope.schools:
            places.setdefault(s.name, [])
        for c in ins:
            places[metas[c.school_id].name].append(c)
        section("按学校，在读", places)
    stages = facade.stage_labels()
    by_stage: dict[str, list[MonthCell]] = {label: [] for label in stages.values()}
    for c in ins:
        by_stage[stages.get(c.stage, c.stage)].append(c)
    section("按学段，在读", {k: v for k, v in by_stage.items() if v})
    by_grade: dict[str, list[MonthCell]] = {}
    order = list(stages)
    for c in sorted(
        ins, key=lambda c: (order.index(c.stage) if c.stage in order else 99, -c.entry_year)
    ):
        label = facade.grade_label(c.stage, c.entry_year, month)
        by_grade.setdefault(label, []).append(c)
    section("按年级，在读", by_grade)
    by_line: dict[str, list[MonthCell]] = {line.label: [] for line in d.lines}
    labels = {line.key: line.label for line in d.lines}
    for c in cells:
        if c.line in labels:
            by_line[labels[c.line]].append(c)
    section("按学籍状态（全部学籍）", by_line)
    return rows


def report_pdf(scope: Scope, month: dt.date) -> bytes:
    cells, source = month_cells(scope, month)
    rows = report_rows(scope, cells, month)
    doc = pdf.Doc(
        title=f"{scope.title}学籍统计月报",
        number=f"{month.year}年{month.month}月",
        before=(
            f"统计范围：{scope.title}，学校 {len(scope.schools)} 所。",
            source,
            "口径：在读 = 已注册且在读；未注册（待提交、审核中、问题学籍）单列，不计入在读。",
        ),
        header=("项目", "男", "女", "合计"),
        rows=rows,
        signature=(f"生成日期：{timezone.localdate():%Y年%m月%d日}",),
    )
    return pdf.render(doc)
