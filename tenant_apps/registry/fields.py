"""The national import template's columns (domain.md §2.3–2.4), in its numbering.

This one list drives the import template (headers, red required columns, drop-downs),
the parser, validation, single-student forms, exports and the annotated error workbook.
`kind` says how a cell is read and checked; `code_table` names a table in codes.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "text",  # free text, trimmed
    "name",  # a person's name: no spaces, middle dot allowed
    "code",  # a value of `code_table` (code or label accepted, code stored)
    "yesno",  # 是/否 or 1/0, stored as bool
    "date8",  # YYYYMMDD
    "ym6",  # YYYYMM
    "region12",  # 12-digit division code (regions validator)
    "id_number",  # 身份证件号, checked against the ID type
    "class_no",  # 7-digit class number
    "phone",
    "postcode",
    "email",
    "int",
    "decimal",
    "id_validity",  # YYYYMMDD-YYYYMMDD
]


@dataclass(frozen=True)
class Column:
    number: int  # position in the national template (1-based)
    key: str  # model field / dict key
    header: str  # Chinese header as in the template
    kind: Kind
    required: bool = False
    code_table: str | None = None
    max_length: int = 100
    group: str = "student"  # "student", "member1" or "member2"


def _member(n: int, start: int) -> tuple[Column, ...]:
    g, p = f"member{n}", f"m{n}_"
    h = f"成员{n}"
    return (
        Column(start + 0, p + "name", f"{h}姓名", "name", group=g, max_length=50),
        Column(start + 1, p + "relation", f"{h}关系", "code", code_table="relation", group=g),
        Column(start + 2, p + "relation_note", f"{h}关系说明", "text", group=g, max_length=50),
        Column(start + 3, p + "ethnicity", f"{h}民族", "code", code_table="ethnicity", group=g),
        Column(start + 4, p + "employer", f"{h}工作单位", "text", group=g, max_length=100),
        Column(start + 5, p + "address", f"{h}现住址", "text", group=g, max_length=200),
        Column(start + 6, p + "household_region", f"{h}户口所在地", "region12", group=g),
        Column(start + 7, p + "phone", f"{h}联系电话", "phone", group=g),
        Column(start + 8, p + "is_guardian", f"{h}是否监护人", "yesno", group=g),
        Column(start + 9, p + "id_type", f"{h}身份证件类型", "code", code_table="id_type", group=g),
        Column(start + 10, p + "id_number", f"{h}身份证件号", "id_number", group=g, max_length=30),
        Column(start + 11, p + "post", f"{h}职务", "text", group=g, max_length=50),
    )


COLUMNS: tuple[Column, ...] = (
    Column(1, "name", "姓名", "name", required=True, max_length=50),
    Column(2, "sex", "性别", "code", required=True, code_table="sex"),
    Column(3, "birth_date", "出生日期", "date8", required=True),
    Column(4, "birthplace", "出生地", "region12", required=True),
    Column(5, "native_place", "籍贯", "text", required=True, max_length=50),
    Column(6, "ethnicity", "民族", "code", required=True, code_table="ethnicity"),
    Column(7, "nationality", "国籍/地区", "code", required=True, code_table="nationality"),
    Column(8, "id_type", "身份证件类型", "code", required=True, code_table="id_type"),
    Column(9, "id_number", "身份证件号", "id_number", required=True, max_length=30),
    Column(10, "overseas", "港澳台侨外", "code", required=True, code_table="overseas"),
    Column(11, "political", "政治面貌", "code", code_table="political"),
    Column(12, "health", "健康状况", "code", required=True, code_table="health"),
    Column(14, "name_pinyin", "姓名拼音", "text", max_length=100),
    Column(15, "former_name", "曾用名", "name", max_length=50),
    Column(16, "id_validity", "身份证件有效期", "id_validity"),
    Column(17, "household_region", "户口所在地", "region12", required=True),
    Column(18, "household_type", "户口性质", "code", required=True, code_table="household_type"),
    Column(19, "talents", "特长", "text", max_length=100),
    Column(20, "aux_number", "学籍辅号", "text", max_length=30),
    Column(21, "number_in_class", "班内学号", "int"),
    # Derived from the class number; a given grade is only checked for agreement.
    Column(22, "grade", "年级", "text", max_length=20),
    Column(23, "class_no", "班级", "class_no", required=True),
    Column(24, "entry_year_month", "入学年月", "ym6", required=True),
    Column(25, "entry_mode", "入学方式", "code", required=True, code_table="entry_mode"),
    Column(26, "attendance", "就读方式", "code", required=True, code_table="attendance"),
    Column(27, "source", "学生来源", "code", code_table="source"),
    Column(28, "current_address", "现住址", "text", required=True, max_length=200),
    Column(29, "postal_address", "通信地址", "text", required=True, max_length=200),
    Column(30, "home_address", "家庭地址", "text", required=True, max_length=200),
    Column(31, "phone", "联系电话", "phone", required=True),
    Column(32, "postcode", "邮政编码", "postcode", required=True),
    Column(33, "email", "电子信箱", "email", max_length=100),
    Column(34, "homepage", "主页地址", "text", max_length=200),
    Column(35, "only_child", "是否独生子女", "yesno", required=True),
    Column(36, "preschool", "是否受过学前教育", "yesno", required=True),
    Column(37, "left_behind", "是否留守儿童", "code", required=True, code_table="left_behind"),
    Column(38, "migrant_child", "是否进城务工人员随迁子女", "yesno", required=True),
    Column(39, "orphan", "是否孤儿", "yesno", required=True),
    Column(40, "martyr_child", "是否烈士或优抚子女", "yesno", required=True),
    Column(41, "inclusive", "随班就读", "code", code_table="inclusive"),
    Column(42, "disability", "残疾类型", "code", code_table="disability"),
    Column(43, "gov_funded", "是否由政府购买学位", "yesno"),
    Column(44, "needs_aid", "是否需要申请资助", "yesno", required=True),
    Column(45, "boarding_subsidy", "是否享受一补", "yesno", required=True),
    Column(46, "distance_km", "上下学距离", "decimal"),
    Column(47, "transport", "上下学方式", "code", code_table="transport"),
    Column(48, "school_bus", "是否需要乘坐校车", "yesno"),
    *_member(1, 49),
    *_member(2, 61),
)

BY_KEY = {c.key: c for c in COLUMNS}
BY_HEADER = {c.header: c for c in COLUMNS}
STUDENT_COLUMNS = tuple(c for c in COLUMNS if c.group == "student")
MEMBER_COLUMNS = {g: tuple(c for c in COLUMNS if c.group == g) for g in ("member1", "member2")}


# -- What the template marks (issue 12) -----------------------------------------------
#
# A column is marked required exactly when a row without it is refused. Most are
# refused by the cell check (`Column.required`); these by a row rule instead
# (validation._member_rules: the national system asks for two family members, each
# with name and relation).
ROW_REQUIRED = frozenset({"m1_name", "m1_relation", "m2_name", "m2_relation"})

_GUARDIAN = "两位成员中至少一位填“是”"
_MEMBER_ID_TYPE = "填写了身份证件号、且不是18位居民身份证号时必填"
_MEMBER_ID = "学生的身份证件类型为“无”时，两位成员中至少一位须填写居民身份证号"
# Required in some rows only, with the rule that says when: marked in another colour,
# with the note, in the template's header comments and on its instructions sheet.
CONDITIONS: dict[str, str] = {
    "id_number": "身份证件类型为“无”时可不填，其余必填",
    "m1_is_guardian": _GUARDIAN,
    "m2_is_guardian": _GUARDIAN,
    "m1_id_type": _MEMBER_ID_TYPE,
    "m2_id_type": _MEMBER_ID_TYPE,
    "m1_id_number": _MEMBER_ID,
    "m2_id_number": _MEMBER_ID,
}

Requirement = Literal["required", "conditional", "optional"]


def requirement(column: Column) -> Requirement:
    """How the template marks `column` (see ROW_REQUIRED and CONDITIONS)."""
    if column.key in CONDITIONS:
        return "conditional"
    if column.required or column.key in ROW_REQUIRED:
        return "required"
    return "optional"


# Headers a file must carry: without one of these columns every row would be refused.
REQUIRED_HEADERS = tuple(c for c in COLUMNS if requirement(c) == "required")
