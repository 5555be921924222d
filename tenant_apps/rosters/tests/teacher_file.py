"""A generated export of the provincial teacher-training platform (省师训平台) for one
school, in its own layout — a title row above a two-row header whose 基本信息 heading is
merged over 姓名/性别/证件号码/出生日期 and whose other headings are merged down, the
platform's header names (教师编号, 手机号码, 学科 ...) in its own order — with seeded faults
of issue 18 point 6, and the school's teacher records it is compared with.

    records()                  # the school's records before: TeacherSpec per teacher
    export_xlsx(fixed=False)   # bytes of the .xlsx; FAULTS says how many of each fault

The export against the records (EXPECTED): T001–T010 are in both (T002 with a new phone
and subject, T009 离职 in the records and back in the export), T011 is serving but not in
the export (离开), T012 left long ago and is not in it either (nothing), T101–T107 are new.
With `fixed` the faults the registrar corrects are corrected already (the platform's
next export, after the school told it), but blank, repeated rows and the other forms of
dates stay.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from stdnum.cn import ric

TITLE = "湖南省中小学教师发展网络平台 教师信息导出（浏阳市测试甲小学）"
HEADERS = ["序号", "基本信息", "", "", "", "教师编号", "学科", "职称", "手机号码", "学段", "备注"]
SUBS = {1: "姓名", 2: "性别", 3: "证件号码", 4: "出生日期"}
FIRST_DATA_ROW = 4  # title, header, sub-header


@dataclass(frozen=True)
class TeacherSpec:
    staff_no: str
    name: str
    sex: str  # 男 / 女
    birth: dt.date
    serial: int  # ID number's sequence digits: odd for men
    phone: str
    subject: str
    title: str = "一级教师"

    @property
    def id_number(self) -> str:
        first17 = f"430181{self.birth:%Y%m%d}{self.serial:03d}"
        return first17 + ric.calc_check_digit(first17 + "0")


_NAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
_SUBJECTS = ["语文", "数学", "英语", "科学", "音乐", "体育", "美术"]


def _spec(staff_no: str, n: int) -> TeacherSpec:
    male = n % 2 == 0
    return TeacherSpec(
        staff_no=staff_no,
        name=f"{_NAMES[n % len(_NAMES)]}{'老师' if male else '教员'}{chr(0x4E00 + n * 7)}",
        sex="男" if male else "女",
        birth=dt.date(1975 + n % 20, 1 + n % 12, 1 + n % 27),
        serial=(2 * n + 1) if male else (2 * n + 2),
        phone=f"139{n:08d}",
        subject=_SUBJECTS[n % len(_SUBJECTS)],
    )


EXISTING = [_spec(f"T{i:03d}", i) for i in range(1, 13)]  # T001–T012
NEW = [_spec(f"T{100 + i:03d}", 40 + i) for i in range(1, 8)]  # T101–T107
SPECS = {s.staff_no: s for s in EXISTING + NEW}
# Records before: T009 and T012 离职; every other one serving.
LEFT_BEFORE = ("T009", "T012")
GONE = ("T011",)  # serving, not in the export
CHANGED = {"T002": {"phone": "13700000002", "subject": "信息科技"}}

# Seeded faults: how many rows of each (every one on its own row).
FAULTS = {
    "blank": 2,  # blank lines between teachers
    "repeated": 1,  # T001's row copied again at the end
    "id_as_number": 2,  # T101, T102: ID number typed into a number cell
    "date_serial": 2,  # T004, T005: birth date as an Excel serial
    "date_text": 2,  # T006, T103: birth date as text 1985年3月15日
    "birth_mismatch": 1,  # T104: birth date differs from the ID number's
    "sex_missing": 1,  # T105: 性别 left empty
    "id_twice": 1,  # T107: T103's ID number typed again
    "staff_no_missing": 1,  # T003: no 教师编号 (the record's is taken)
}
# After the faults are corrected: what the diff holds.
EXPECTED = {"new": 7, "changed": 2, "gone": 1}


def _serial(day: dt.date) -> int:
    return (day - dt.date(1899, 12, 30)).days


def _row(n: int, spec: TeacherSpec, fixed: bool) -> list[Any]:
    changed = CHANGED.get(spec.staff_no, {})
    birth: Any = spec.birth  # a real date cell
    number: Any = spec.id_number
    sex: Any = spec.sex
    staff_no: Any = spec.staff_no
    if spec.staff_no in ("T004", "T005"):
        birth = _serial(spec.birth)
    elif spec.staff_no in ("T006", "T103"):
        birth = f"{spec.birth.year}年{spec.birth.month}月{spec.birth.day}日"
    elif spec.staff_no == "T003":
        staff_no = None
    if not fixed:
        if spec.staff_no in ("T101", "T102"):
            number = float(spec.id_number[:17] + "1")  # Excel kept 15 digits
        elif spec.staff_no == "T104":
            birth = spec.birth.replace(year=spec.birth.year + 1)
        elif spec.staff_no == "T105":
            sex = None
        elif spec.staff_no == "T107":
            number, birth = SPECS["T103"].id_number, None  # and no birth date
    return [
        n,
        spec.name,
        sex,
        number,
        birth,
        staff_no,
        changed.get("subject", spec.subject),
        f"中小学{spec.title}",  # the platform's full title name
        changed.get("phone", spec.phone),
        "小学",
        "",
    ]


def export_rows(fixed: bool = False) -> list[list[Any]]:
    """The export's teacher rows in order: no blank or repeated rows yet."""
    in_export = [s for s in EXISTING if s.staff_no not in GONE + ("T012",)] + NEW
    return [_row(n, spec, fixed) for n, spec in enumerate(in_export, 1)]


def export_xlsx(fixed: bool = False) -> bytes:
    rows = export_rows(fixed)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "教师信息"
    width = len(HEADERS)
    sheet.append([TITLE] + [None] * (width - 1))
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.append(HEADERS)
    sheet.append([SUBS.get(ci) for ci in range(width)])
    sheet.merge_cells(start_row=2, start_column=2, end_row=2, end_column=5)
    for ci in range(width):
        if ci not in SUBS:
            sheet.merge_cells(start_row=2, start_column=ci + 1, end_row=3, end_column=ci + 1)
    blanks_after = {3, 12}  # data rows followed by a blank line
    for i, row in enumerate(rows):
        sheet.append(row)
        if i in blanks_after:
            sheet.append([None] * width)
    sheet.append(rows[0])  # T001 again
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def records_seed(actor: Any) -> None:
    """The school's teacher records before the export (current schema): T001–T012
    through teacher_create, T009 and T012 离职, T011 with an account of the role 全体教师."""
    from accounts.roles import Role
    from accounts.services import user_create
    from tenant_apps.registry.teachers.services import teacher_create, teacher_deactivate

    for spec in EXISTING:
        if spec.staff_no == "T011":
            user_create(username="T011", full_name=spec.name, roles=[Role.ALL_TEACHERS])
        teacher = teacher_create(
            data={
                "staff_no": spec.staff_no,
                "name": spec.name,
                "sex": spec.sex,
                "id_number": spec.id_number,
                "phone": spec.phone,
                "subject": spec.subject,
                "title": spec.title,
            },
            actor=actor,
        )
        if spec.staff_no in LEFT_BEFORE:
            teacher_deactivate(teacher_id=teacher.pk, status="left", note="调离", actor=actor)
