"""A generated nutrition-programme roster (营养改善计划名册) for the tests and the bench:
its own layout, not the template's — a title row above a two-row header whose 家长信息
heading is merged over 姓名 and 联系电话 and whose other headings are merged down, other
header names in another order, and seeded faults of every kind of issue 18 point 6.

    roster_xlsx(n=60)          # bytes of an .xlsx; FAULTS says how many of each fault
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook

from tenant_apps.registry.tests.factories import valid_row

TITLE = "浏阳市测试甲小学 营养改善计划学生名册（2026年秋季学期）"
# (header, template key or None, [roster value maker]) in the roster's own order.
HEADERS = [
    "序号",
    "学生姓名",
    "身份证号码",
    "性别",
    "出生年月日",
    "民族",
    "年级",
    "班级",
    "家长信息",  # merged over the next column; 姓名 and 联系电话 under it
    "",
    "与学生关系",
    "母亲姓名",
    "户籍所在地",
    "出生地",
    "籍贯",
    "家庭住址",
    "现住址",
    "通讯地址",
    "入学时间",
    "联系电话",
    "是否留守儿童",
    "备注",
]
SUBS = {8: "姓名", 9: "联系电话"}
# What the registrar fills in once on the mapping page (the roster has no such columns).
DEFAULTS = {
    "nationality": "中国",
    "id_type": "居民身份证",
    "overseas": "否",
    "health": "健康或良好",
    "household_type": "农业户口",
    "entry_mode": "就近入学",
    "attendance": "走读",
    "only_child": "否",
    "preschool": "是",
    "migrant_child": "否",
    "orphan": "否",
    "martyr_child": "否",
    "needs_aid": "否",
    "boarding_subsidy": "否",
    "postcode": "410300",
    "m1_is_guardian": "是",
    "m2_relation": "母亲",
}
# Seeded faults: how many rows of each (every one on its own row).
FAULTS = {
    "blank": 3,  # blank lines between pupils
    "repeated": 2,  # a pupil's row copied again further down
    "id_as_number": 2,  # ID number typed into a number cell: 4.30181E+17
    "date_serial": 3,  # birth date as an Excel serial number
    "date_text": 3,  # birth date as text 2017年9月5日
    "class_missing": 4,  # 三年级 2班: a class the school does not have
    "sex_missing": 2,  # 性别 left empty
}
FIRST_DATA_ROW = 4  # title, header, sub-header


def _serial(day: dt.date) -> int:
    return (day - dt.date(1899, 12, 30)).days


def roster_rows(n: int, start: int = 1000) -> list[list[Any]]:
    """The roster's data rows, faults seeded at fixed positions; no blank or repeated
    rows yet (roster_xlsx adds them)."""
    rows: list[list[Any]] = []
    plan: list[str] = []
    for kind in ("id_as_number", "date_serial", "date_text", "class_missing", "sex_missing"):
        plan += [kind] * FAULTS[kind]
    for i in range(n):
        v = valid_row(seq=start + i)
        fault = plan[i] if i < len(plan) else ""
        b = v["birth_date"]
        birth = dt.date(int(b[:4]), int(b[4:6]), int(b[6:]))
        row: list[Any] = [
            i + 1,
            v["name"],
            v["id_number"],
            v["sex"],
            birth,  # a real date cell
            v["ethnicity"],
            "三年级",
            "1班",
            v["m1_name"],
            v["m1_phone"],
            v["m1_relation"],
            v["m2_name"],
            v["household_region"],
            v["birthplace"],
            v["native_place"],
            v["home_address"],
            v["current_address"],
            v["postal_address"],
            "2024年9月",
            v["phone"],
            "否",
            "",
        ]
        if fault == "id_as_number":
            # Excel keeps 15 digits: 4.30181E+17 (a check character X turns into a digit)
            row[2] = float(v["id_number"][:17] + "1")
        elif fault == "date_serial":
            row[4] = _serial(birth)
        elif fault == "date_text":
            row[4] = f"{birth.year}年{birth.month}月{birth.day}日"
        elif fault == "class_missing":
            row[7] = "2班"
        elif fault == "sex_missing":
            row[3] = None
        rows.append(row)
    return rows


def roster_xlsx(n: int = 60, start: int = 1000) -> bytes:
    rows = roster_rows(n, start)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "名册"
    width = len(HEADERS)
    sheet.append([TITLE] + [None] * (width - 1))
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.append(HEADERS)
    sheet.append([SUBS.get(ci) for ci in range(width)])
    for ci in range(width):
        if ci in SUBS:
            continue
        if ci == 8:
            continue
        sheet.merge_cells(start_row=2, start_column=ci + 1, end_row=3, end_column=ci + 1)
    sheet.merge_cells(start_row=2, start_column=9, end_row=2, end_column=10)
    blanks_after = {n // 10, n // 2, n - 3}  # data rows followed by a blank line
    repeats = rows[-FAULTS["repeated"] :]
    for i, row in enumerate(rows):
        sheet.append(row)
        if i in blanks_after:
            sheet.append([None] * width)
    for row in repeats:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
