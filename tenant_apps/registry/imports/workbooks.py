"""Excel import and export for the national student template (domain.md §2.3, §3.16).

- `template_build`: the downloadable import template (openpyxl: drop-downs, red required
  headers, comments, text-formatted number columns).
- `upload_sniff`: checks an upload as untrusted input (size, extension, magic bytes, password,
  ZIP bomb) before any parser sees it.
- `workbook_read`: fast reading with python-calamine (xlsx, xls) or the csv module. The
  reader and its header checks take a `ColumnSet`: the national student template by
  default, the teacher list (registry.teachers.services) with the same checks.
- `workbook_annotate`: the upload handed back with the problem cells marked.
- `rows_export`: a streaming (write-only) export in national column order.

Everything works on bytes and plain dicts: no database, no request, so the same code runs in
a view, a Celery task or a test.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime
import difflib
import io
import struct
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import python_calamine
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from common.spreadsheets import cell_put, cell_text_safe, row_safe, write_only_cell
from tenant_apps.registry.codes import CodeTable, table
from tenant_apps.registry.fields import (
    BY_HEADER,
    BY_KEY,
    COLUMNS,
    CONDITIONS,
    REQUIRED_HEADERS,
    Column,
    requirement,
)

Format = Literal["xlsx", "xls", "csv"]
CellValue = str | float | None
"""A read cell: text, None for empty, or a float only for a precision-damaged ID number."""

DATA_SHEET = "学生信息"
INSTRUCTIONS_SHEET = "填写说明"
CODES_SHEET = "代码表"
ERROR_HEADER = "错误说明"
ANNOTATION_AUTHOR = "学籍平台"

TEMPLATE_ROWS = 2000  # rows 2..2001 get text format and drop-downs
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# ZIP bombs are told apart from big honest workbooks by their compression ratio: real
# sheet XML deflates about 10-20:1 (our own 50,000-row export, openpyxl's inline strings
# with every CJK character written as &#NNNNN;, is 227 MB in 15.3 MB, 15:1), a bomb by
# hundreds or thousands to one. The absolute ceiling only bounds the parse work of an
# upload that is honest about its ratio: a 100,000-row export (MAX_SHEET_ROWS) inflates
# to about 460 MB, so 1 GiB leaves room while a 20 MB upload at 100:1 (2 GB) stays out.
ZIP_MAX_UNCOMPRESSED = 1024 * 1024 * 1024
ZIP_MAX_RATIO = 100
# Below this many uncompressed bytes a high ratio is harmless: a filled template's sheet XML
# (thousands of identical empty styled cells) legitimately compresses better than 100:1.
ZIP_RATIO_FLOOR = 10 * 1024 * 1024
ZIP_MAX_ENTRIES = 10_000
# A sheet is read into Python row by row, but calamine holds it densely in memory; a sheet
# taller than any county-wide import is refused before conversion.
MAX_SHEET_ROWS = 100_000
HEADER_SEARCH_ROWS = 10  # a title line above the header row is tolerated
# Above this many cells (about 7,000 full rows) an uploaded .xlsx is annotated by rebuilding
# it in write-only mode rather than editing it with openpyxl: see _annotate_xlsx.
ANNOTATE_IN_PLACE_MAX_CELLS = 500_000

RED = "FFFF0000"
ORANGE = "FFE26B0A"  # required in some rows: the header comment says when
BLACK = "FF000000"
MARK_COLOURS = {"required": RED, "conditional": ORANGE, "optional": BLACK}
MARK_WORDS = {"required": "必填", "conditional": "按条件必填", "optional": "选填"}
ERROR_FILL_RGB = "FFFFC7CE"
# Cells accepted after a normalisation (full-width digits, spaces, 2018-03-01): light blue,
# so the registrar can check what the importer changed without taking it for an error.
NORMALISED_FILL_RGB = "FFDDEBF7"
MSG_NORMALISED = "导入时已规范为“{after}”"

MSG_EMPTY = "文件是空的，请选择填写好的模板文件后重新上传"
MSG_EXTENSION = "不支持的文件类型“{ext}”，请上传 .xlsx、.xls 或 .csv 文件"
MSG_DISGUISED = "文件内容不是Excel工作簿，可能是改了扩展名的其他文件"
MSG_ENCRYPTED = "文件设置了打开密码，请取消密码后重新上传"
MSG_ZIP_BOMB = "文件解压后过大（超过1GB或压缩比异常），疑似恶意文件，已拒绝"
MSG_CORRUPT = "文件已损坏，无法打开，请用Excel打开检查后另存为 .xlsx 再上传"
MSG_HTML = (
    "文件是网页或XML格式，不是真正的Excel工作簿（有些系统导出的 .xls 其实是网页），"
    "请用Excel打开后“另存为” .xlsx 格式再上传"
)
MSG_XLS_AS_XLSX = (
    "文件实际是旧版Excel（.xls）格式，扩展名却是 .xlsx，"
    "请把扩展名改为 .xls 或另存为 .xlsx 后重新上传"
)
MSG_XLSX_AS_XLS = "文件实际是 .xlsx 格式，扩展名却是 .xls，请把扩展名改为 .xlsx 后重新上传"
MSG_XLSB = "文件是Excel二进制工作簿（.xlsb），请用Excel另存为 .xlsx 后重新上传"
MSG_ODS = "文件是WPS/LibreOffice的ODS表格，请另存为 .xlsx 后重新上传"
MSG_WORKBOOK_AS_CSV = (
    "文件内容是Excel工作簿，扩展名却是 .csv，请把扩展名改为 .xlsx 或 .xls 后重新上传"
)
MSG_CSV_BINARY = "文件内容不是CSV文本，可能是改了扩展名的其他文件"
MSG_CSV_NUL = (
    "CSV文件中含有二进制字符（NUL），不是文本文件，"
    "请用Excel另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后上传"
)
MSG_CSV_UTF16 = "CSV文件是UTF-16编码，请用Excel另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后上传"
MSG_CSV_ENCODING = (
    "CSV文件的编码无法识别（支持UTF-8和GBK/GB18030），请用Excel另存为“CSV UTF-8（逗号分隔）”后上传"
)
MSG_CSV_SYNTAX = "CSV文件格式有误（第{line}行）：{detail}"
MSG_UNREADABLE = "文件无法读取，可能已损坏或不是Excel工作簿，请用Excel打开后另存为 .xlsx 再上传"
MSG_SHEET_EMPTY = "工作表“{sheet}”是空的，请在模板的“学生信息”表中填写学生后上传"
MSG_SHEET_TOO_TALL = "工作表超过{rows}行，请删除多余的行或分成几个文件上传"
MSG_NO_HEADER = (
    "没有找到表头：第1行应是模板的列名（姓名、性别、出生日期……），请使用本平台下载的导入模板"
)
MSG_MISSING_COLUMNS = "缺少必填列：{columns}"
MSG_DUPLICATE_COLUMNS = "列名重复：{columns}，每列只能出现一次"
MSG_MISSING_NEAR = "{header}（第{column}列“{given}”是否就是它？请改成模板的列名）"


@dataclass(frozen=True)
class ColumnSet:
    """The columns a reader looks for: their headers, the ones a file must have, the
    sheet preferred when a workbook has several, and that sheet's "empty" message."""

    by_header: dict[str, Column]
    required: tuple[Column, ...]
    data_sheet: str
    sheet_empty: str = MSG_SHEET_EMPTY


STUDENT_SET = ColumnSet(by_header=BY_HEADER, required=REQUIRED_HEADERS, data_sheet=DATA_SHEET)


class UploadRejected(Exception):
    """An upload that cannot be imported at all; `message` is shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------------------------
# Column metadata shared by the template, the reader and the annotator
# --------------------------------------------------------------------------------------------

# Kinds whose cells must stay text: Excel turns long digit strings into numbers, drops leading
# zeros and shows 18-digit IDs as 4.30181E+17 with the last digits lost.
TEXT_KINDS = frozenset(
    {"id_number", "region12", "date8", "ym6", "class_no", "phone", "postcode", "id_validity"}
)
TEXT_KEYS = frozenset({"aux_number"})  # province formats may start with 0

_KIND_HINTS: dict[str, str] = {
    "name": "与户口簿一致，前、后和中间都不要有空格；少数民族姓名的间隔号用“·”",
    "date8": "8位数字，如20180301",
    "ym6": "6位数字（年+月），如202409",
    "region12": "12位行政区划代码，如古港镇430181108000",
    "id_number": "居民身份证填18位号码，末位X大写；本列为文本格式，请勿改为数值",
    "class_no": "7位班级编号：4位入学年份+学段(1小学2初中3高中)+2位班号，如2024101",
    "phone": "11位手机号，或带区号的固定电话，如0731-83000000",
    "postcode": "6位数字，如410300",
    "email": "如zhangsan@example.com",
    "int": "整数，如12",
    "decimal": "数字，如1.5",
    "id_validity": "起止日期各8位，用“-”连接，如20180301-20280301",
    "yesno": "从下拉列表选择“是”或“否”",
    "text": "",
}

_KEY_HINTS: dict[str, str] = {
    "native_place": "填写省份和县市，如湖南浏阳",
    "ethnicity": "填写全称，以“族”结尾，如汉族",
    "nationality": "从下拉列表选择，如中国",
    "id_number": "居民身份证填18位号码，末位X大写；证件类型为“其他”时可不填；"
    "本列为文本格式，请勿改为数值",
    "name_pinyin": "大写拼音，姓与名之间空一格，如ZHANG XIAOMING",
    "household_region": "12位行政区划代码，如430181108001",
    "aux_number": "按本省学籍辅号规则填写，没有可不填",
    "grade": "如一年级、七年级",
    "entry_year_month": "6位数字，进入本学段一年级的年月，如202409",
    "current_address": "具体到村（街道）和门牌号",
    "distance_km": "单位为公里，如1.5",
}


def _code_table_for(column: Column) -> CodeTable | None:
    if column.kind == "yesno":
        return table("yesno")
    if column.kind == "code" and column.code_table:
        return table(column.code_table)
    return None


def column_hint(column: Column) -> str:
    """The format note shown in the header comment and on the instructions sheet; for
    a column required in some rows only, the rule that says when comes first."""
    condition = CONDITIONS.get(column.key, "")
    hint = _format_hint(column)
    return "；".join(t for t in (condition, hint) if t)


def _format_hint(column: Column) -> str:
    key = column.key.split("_", 1)[1] if column.group != "student" else column.key
    if key in _KEY_HINTS:
        return _KEY_HINTS[key]
    if column.kind == "code":
        return f"从下拉列表选择（也可填代码表中的代码），如“{_code_example(column)}”"
    return _KIND_HINTS.get(column.kind, "")


def _code_example(column: Column) -> str:
    """The sample pupil's value when there is one (群众 rather than 中共党员 for a pupil)."""
    value = _sample().get(column.key)
    if value:
        return value
    codes = _code_table_for(column)
    return codes.codes[0][1] if codes and codes.codes else ""


def _is_text_column(column: Column) -> bool:
    return column.kind in TEXT_KINDS or column.key in TEXT_KEYS


def _column_width(column: Column) -> float:
    by_kind = {
        "id_number": 22,
        "region12": 16,
        "id_validity": 20,
        "email": 22,
        "phone": 15,
        "date8": 12,
        "class_no": 11,
    }
    width = by_kind.get(column.kind, 12)
    if column.kind == "text" and column.max_length >= 200:
        width = 30
    codes = _code_table_for(column)
    if codes:
        width = max(width, min(30, 2 * max(len(label) for _, label in codes.codes) + 4))
    # CJK characters are about two Excel width units each.
    return float(min(40, max(width, 2 * len(column.header) + 4)))


# --------------------------------------------------------------------------------------------
# 1. Template
# --------------------------------------------------------------------------------------------


def _label(table_name: str, code: str) -> str:
    return table(table_name).labels[code]


def template_sample() -> dict[str, str]:
    """One valid pupil with two family members, as the template's sample (values as typed).

    The ID numbers carry correct check characters and agree with birth date and sex.
    """
    return dict(_sample())


@lru_cache(maxsize=1)
def _sample() -> dict[str, str]:
    return {
        "name": "张小明",
        "sex": _label("sex", "1"),
        "birth_date": "20180301",
        "birthplace": "430181108000",
        "native_place": "湖南浏阳",
        "ethnicity": _label("ethnicity", "01"),
        "nationality": _label("nationality", "CHN"),
        "id_type": _label("id_type", "1"),
        "id_number": "430181201803010013",
        "overseas": _label("overseas", "00"),
        "political": _label("political", "13"),
        "health": _label("health", "10"),
        "name_pinyin": "ZHANG XIAOMING",
        "former_name": "",
        "id_validity": "20230301-20280301",
        "household_region": "430181108001",
        "household_type": _label("household_type", "1"),
        "talents": "书法",
        "aux_number": "",
        "number_in_class": "12",
        "grade": "一年级",
        "class_no": "2024101",
        "entry_year_month": "202409",
        "entry_mode": _label("entry_mode", "11"),
        "attendance": _label("attendance", "1"),
        "source": _label("source", "1"),
        "current_address": "湖南省浏阳市古港镇古港社区和平路8号",
        "postal_address": "湖南省浏阳市古港镇古港社区和平路8号",
        "home_address": "湖南省浏阳市古港镇古港社区和平路8号",
        "phone": "13807310000",
        "postcode": "410300",
        "email": "",
        "homepage": "",
        "only_child": _label("yesno", "0"),
        "preschool": _label("yesno", "1"),
        "left_behind": _label("left_behind", "0"),
        "migrant_child": _label("yesno", "0"),
        "orphan": _label("yesno", "0"),
        "martyr_child": _label("yesno", "0"),
        "inclusive": _label("inclusive", "0"),
        "disability": _label("disability", "0"),
        "gov_funded": _label("yesno", "0"),
        "needs_aid": _label("yesno", "0"),
        "boarding_subsidy": _label("yesno", "0"),
        "distance_km": "1.5",
        "transport": _label("transport", "1"),
        "school_bus": _label("yesno", "0"),
        "m1_name": "张大山",
        "m1_relation": _label("relation", "1"),
        "m1_relation_note": "",
        "m1_ethnicity": _label("ethnicity", "01"),
        "m1_employer": "浏阳市古港镇农业服务中心",
        "m1_address": "湖南省浏阳市古港镇古港社区和平路8号",
        "m1_household_region": "430181108001",
        "m1_phone": "13807310001",
        "m1_is_guardian": _label("yesno", "1"),
        "m1_id_type": _label("id_type", "1"),
        "m1_id_number": "430181198805050014",
        "m1_post": "",
        "m2_name": "李秀英",
        "m2_relation": _label("relation", "2"),
        "m2_relation_note": "",
        "m2_ethnicity": _label("ethnicity", "01"),
        "m2_employer": "个体经营",
        "m2_address": "湖南省浏阳市古港镇古港社区和平路8号",
        "m2_household_region": "430181108001",
        "m2_phone": "13807310002",
        "m2_is_guardian": _label("yesno", "1"),
        "m2_id_type": _label("id_type", "1"),
        "m2_id_number": "430181199006120025",
        "m2_post": "",
    }


_RULES: tuple[str, ...] = (
    "请在“学生信息”工作表中填写，每名学生一行，从第2行开始；不要修改、删除或移动表头，"
    "不要合并单元格，不要在学生之间留空行。本页和“代码表”页不会被导入。",
    "红色表头为必填项，每行都要填写；橙色表头为“按条件必填”，批注中写明何时必填"
    "（如家庭成员至少一位是监护人）；黑色表头为选填项，不填不影响导入。"
    "年级由班级编号决定，可不填，填写时须与班级一致。",
    "姓名与户口簿一致，前、后和中间都不要有空格；少数民族姓名中的间隔号用“·”。",
    "出生日期填8位数字，如20180301；Excel日期格式和2018-03-01等写法也能识别，导入时统一改为8位并在报告中列出。",
    "出生地、户口所在地和家庭成员户口所在地填12位行政区划代码，如浏阳市古港镇为430181108000。",
    "民族填写全称，必须以“族”结尾，如“汉族”，不要只写“汉”。",
    "班级填7位班级编号：4位入学年份+1位学段（1小学、2初中、3高中）+2位班号，"
    "如2024101是2024年入学的小学1班。班级名称由系统按“学段+入学年份+级(两位班号)班”生成，"
    "如小学2011级(02)班。",
    "入学年月填6位数字（年+月），是进入本学段一年级的年月，如202409。",
    "家庭成员（监护人）填写两名：成员1和成员2；学生没有身份证件号时，成员的身份证件号必填。",
    "有下拉列表的列请从列表中选择（也可填“代码表”中的代码）；“是否”类的列填“是”或“否”。",
    "身份证件号、区划代码、日期、班级、电话等列已设为文本格式，请勿改为数值，"
    "否则长数字会变成科学计数法、末几位变成0。从其他表格复制时请用“选择性粘贴→数值”。",
    "保存为 .xlsx 格式上传（也支持 .xls 和 .csv），文件不超过20MB，不要设置打开密码。",
)


def _codes_sheet_build(ws: Worksheet) -> dict[str, str]:
    """One label column and one code column per code table; returns table name → list range."""
    used: list[CodeTable] = []
    for column in COLUMNS:
        codes = _code_table_for(column)
        if codes and codes not in used:
            used.append(codes)
    ranges: dict[str, str] = {}
    bold = Font(bold=True)
    for i, codes in enumerate(used):
        label_col, code_col = 2 * i + 1, 2 * i + 2
        label_letter = get_column_letter(label_col)
        cell_put(ws, 1, label_col, codes.label).font = bold
        cell_put(ws, 1, code_col, f"{codes.label}代码").font = bold
        for r, (code, label) in enumerate(codes.codes, start=2):
            cell_put(ws, r, label_col, label)
            # Codes such as "01" must not become the number 1.
            cell_put(ws, r, code_col, code).number_format = "@"
        ws.column_dimensions[label_letter].width = min(
            40, 2 * max(len(label) for _, label in codes.codes) + 4
        )
        ws.column_dimensions[get_column_letter(code_col)].width = 10
        last = len(codes.codes) + 1
        ranges[codes.name] = f"'{CODES_SHEET}'!${label_letter}$2:${label_letter}${last}"
    ws.freeze_panes = "A2"
    # Protection without a password only guards against accidental edits that would break
    # the drop-downs; anyone can unprotect it.
    ws.protection.sheet = True
    return ranges


def _data_sheet_build(ws: Worksheet, ranges: dict[str, str]) -> None:
    last_row = TEMPLATE_ROWS + 1
    header_fill = PatternFill(fill_type="solid", start_color="FFF2F2F2", end_color="FFF2F2F2")
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for ci, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(ci)
        cell = cell_put(ws, 1, ci, column.header)
        mark = requirement(column)
        cell.font = Font(bold=True, color=MARK_COLOURS[mark])
        cell.fill = header_fill
        cell.alignment = center
        hint = column_hint(column)
        text = f"{column.header}（{MARK_WORDS[mark]}）" + (f"\n{hint}" if hint else "")
        cell.comment = Comment(text, ANNOTATION_AUTHOR, height=110, width=260)
        ws.column_dimensions[letter].width = _column_width(column)
        if _is_text_column(column):
            # The column style covers rows typed past the prepared range as well.
            ws.column_dimensions[letter].number_format = "@"
            for r in range(2, last_row + 1):
                ws.cell(row=r, column=ci).number_format = "@"
        codes = _code_table_for(column)
        if codes:
            example = _code_example(column)
            # "warning" rather than "stop": the importer also accepts codes and aliases.
            dv = DataValidation(
                type="list",
                formula1=ranges[codes.name],
                allow_blank=requirement(column) != "required",
                showErrorMessage=True,
                errorStyle="warning",
                errorTitle="输入内容不在列表中",
                error=f"“{column.header}”请从下拉列表中选择，如“{example}”，"
                "或填写“代码表”中的代码。",
                showInputMessage=True,
                promptTitle=column.header[:32],
                prompt="请从下拉列表中选择",
            )
            dv.add(f"{letter}2:{letter}{last_row}")
            ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"


def _instructions_sheet_build(ws: Worksheet, *, school_name: str, school_code: str) -> None:
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 24
    ws.column_dimensions["C"].width = 8
    ws.column_dimensions["D"].width = 36
    ws.column_dimensions["E"].width = 60
    title_text = f"{school_name}（学校标识码：{school_code}）学生信息导入模板"
    title = cell_put(ws, 1, 1, title_text)
    title.font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=5)
    cell_put(ws, 3, 1, "填写说明").font = Font(bold=True, size=12)
    row = 4
    for n, rule in enumerate(_RULES, start=1):
        cell_put(ws, row, 1, n).alignment = wrap
        cell = cell_put(ws, row, 2, rule)
        cell.alignment = wrap
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=5)
        # Merged cells do not grow with wrapped text; give long rules a second line.
        ws.row_dimensions[row].height = 15 * (1 + len(rule) // 60)
        row += 1
    row += 1
    cell_put(
        ws, row, 1, "填写示例（一名学生；请勿把示例填入“学生信息”表，否则会被导入）"
    ).font = Font(bold=True, size=12)
    row += 1
    for ci, text in enumerate(("序号", "列名", "必填", "示例", "填写要求"), start=1):
        cell_put(ws, row, ci, text).font = Font(bold=True)
    sample = template_sample()
    for column in COLUMNS:
        row += 1
        cell_put(ws, row, 1, column.number)
        header = cell_put(ws, row, 2, column.header)
        mark = requirement(column)
        header.font = Font(color=MARK_COLOURS[mark])
        cell_put(ws, row, 3, {"required": "是", "conditional": "按条件"}.get(mark))
        cell_put(ws, row, 4, sample.get(column.key) or None).number_format = "@"
        cell_put(ws, row, 5, column_hint(column) or None).alignment = wrap


def template_build(*, school_name: str, school_code: str) -> bytes:
    """The import template (.xlsx): data sheet, instructions with a sample, code tables."""
    wb = Workbook()
    for default in list(wb.worksheets):
        wb.remove(default)
    data_ws = wb.create_sheet(DATA_SHEET)
    help_ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    codes_ws = wb.create_sheet(CODES_SHEET)
    ranges = _codes_sheet_build(codes_ws)
    _data_sheet_build(data_ws, ranges)
    _instructions_sheet_build(help_ws, school_name=school_name, school_code=school_code)
    wb.active = 0
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# 2. Upload sniffing
# --------------------------------------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# Binary signatures that cannot start a text file. Short ones such as "MZ" or "BM" are left
# out: a CSV may start with those letters, and real binaries fail the NUL check anyway.
_BINARY_MAGIC: tuple[bytes, ...] = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF",
    b"\x7fELF",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x1f\x8b",  # gzip
    b"PK\x05\x06",  # empty ZIP
)
_ENCRYPTION_STREAMS = frozenset({"EncryptionInfo", "EncryptedPackage"})
_CFB_MAX_SECTOR = 0xFFFFFFFA
_CFB_END = 0xFFFFFFFE


@dataclass(frozen=True)
class _CfbEntry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    start: int
    size: int


def _cfb_directory(data: bytes) -> tuple[int, list[_CfbEntry]] | None:
    """The directory entries of a compound file (MS-CFB), or None when it is malformed.

    Only the FAT and the directory chain are read, so this costs a few kilobytes of work
    even for a 20 MB file. Every chain walk is bounded so a crafted file cannot loop.
    """
    if len(data) < 512 or data[:8] != _CFB_MAGIC:
        return None
    shift = struct.unpack_from("<H", data, 30)[0]
    if shift not in (9, 12):
        return None
    size = 1 << shift
    n_sectors = (len(data) - 1) // size  # sectors after the header, the last one may be short
    n_fat, dir_start = struct.unpack_from("<II", data, 44)
    difat_start, n_difat = struct.unpack_from("<II", data, 68)

    def sector(sid: int) -> bytes | None:
        if sid > _CFB_MAX_SECTOR or sid >= n_sectors:
            return None
        chunk = data[(sid + 1) * size : (sid + 2) * size]
        return chunk + b"\0" * (size - len(chunk))

    fat_sids = list(struct.unpack_from("<109I", data, 76))
    sid, hops = difat_start, 0
    while sid <= _CFB_MAX_SECTOR and hops < n_difat and hops < n_sectors:
        chunk = sector(sid)
        if chunk is None:
            return None
        values = struct.unpack(f"<{size // 4}I", chunk)
        fat_sids.extend(values[:-1])
        sid, hops = values[-1], hops + 1
    fat: list[int] = []
    for fat_sid in [s for s in fat_sids if s <= _CFB_MAX_SECTOR][:n_fat]:
        chunk = sector(fat_sid)
        if chunk is None:
            return None
        fat.extend(struct.unpack(f"<{size // 4}I", chunk))

    entries: list[_CfbEntry] = []
    sid, seen = dir_start, set[int]()
    while sid <= _CFB_MAX_SECTOR and sid not in seen and len(seen) < n_sectors:
        seen.add(sid)
        chunk = sector(sid)
        if chunk is None:
            return None
        for off in range(0, size, 128):
            name_len = struct.unpack_from("<H", chunk, off + 64)[0]
            kind = chunk[off + 66]
            if kind == 0 or not 2 <= name_len <= 64:
                continue
            name = chunk[off : off + name_len - 2].decode("utf-16-le", errors="replace")
            start, length = struct.unpack_from("<IQ", chunk, off + 116)
            if size == 512:
                length &= 0xFFFFFFFF  # version 3 files may leave garbage in the high half
            entries.append(_CfbEntry(name=name, kind=kind, start=start, size=length))
        sid = fat[sid] if sid < len(fat) else _CFB_END
    return size, entries


def _biff_has_filepass(data: bytes, sector_size: int, stream: _CfbEntry) -> bool:
    """True when an .xls Workbook stream starts with BOF + FILEPASS (an encrypted workbook).

    MS-XLS puts FILEPASS right after the first BOF, so the stream's first sector suffices.
    Streams under 4096 bytes live in the mini stream and are not looked at: no real encrypted
    workbook is that small, and such a file is refused later as unreadable anyway.
    """
    if stream.size < 4096 or stream.start > _CFB_MAX_SECTOR:
        return False
    offset = (stream.start + 1) * sector_size
    head = data[offset : offset + sector_size]
    if len(head) < 8:
        return False
    rec_type, rec_len = struct.unpack_from("<HH", head, 0)
    if rec_type != 0x0809 or 4 + rec_len + 4 > len(head):
        return False
    return struct.unpack_from("<H", head, 4 + rec_len)[0] == 0x002F


def _cfb_encrypted(data: bytes) -> bool:
    """True for a compound file holding an encrypted workbook: an encrypted .xlsx (the OOXML
    package inside EncryptionInfo/EncryptedPackage streams) or an .xls with FILEPASS."""
    directory = _cfb_directory(data)
    if directory is None:
        return False
    sector_size, entries = directory
    if any(e.name in _ENCRYPTION_STREAMS for e in entries):
        return True
    books = [e for e in entries if e.name in ("Workbook", "Book") and e.kind == 2]
    return any(_biff_has_filepass(data, sector_size, book) for book in books)


def _sniff_cfb(data: bytes, ext: str) -> Format:
    directory = _cfb_directory(data)
    if directory is None:
        raise UploadRejected(MSG_CORRUPT)
    if _cfb_encrypted(data):
        raise UploadRejected(MSG_ENCRYPTED)
    if not any(e.name in ("Workbook", "Book") and e.kind == 2 for e in directory[1]):
        raise UploadRejected(MSG_DISGUISED)
    if ext != ".xls":
        raise UploadRejected(MSG_XLS_AS_XLSX)
    return "xls"


def zip_sizes_refused(*, uncompressed: int, compressed: int) -> bool:
    """Whether an archive of these total sizes (bytes) looks like a ZIP bomb."""
    if uncompressed > ZIP_MAX_UNCOMPRESSED:
        return True
    return uncompressed > ZIP_RATIO_FLOOR and uncompressed > ZIP_MAX_RATIO * max(compressed, 1)


def _sniff_zip(data: bytes, ext: str) -> Format:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise UploadRejected(MSG_CORRUPT) from None
    if len(infos) > ZIP_MAX_ENTRIES:
        raise UploadRejected(MSG_ZIP_BOMB)
    # Declared sizes only: calamine and openpyxl read members through the same central
    # directory, and Python's zipfile stops at the declared size, so a lying header cannot
    # inflate past what is checked here.
    uncompressed = sum(i.file_size for i in infos)
    # The declared compressed sizes are the archive's word too: the file cannot hold more
    # compressed bytes than its own length, so a header that inflates them to pass the
    # ratio test is caught by that.
    compressed = min(sum(i.compress_size for i in infos), len(data))
    if zip_sizes_refused(uncompressed=uncompressed, compressed=compressed):
        raise UploadRejected(MSG_ZIP_BOMB)
    if any(i.flag_bits & 0x1 for i in infos):
        raise UploadRejected(MSG_ENCRYPTED)
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise UploadRejected(MSG_XLSB)
        if "mimetype" in names and "content.xml" in names:
            raise UploadRejected(MSG_ODS)
        raise UploadRejected(MSG_DISGUISED)
    if ext != ".xlsx":
        raise UploadRejected(MSG_XLSX_AS_XLS)
    return "xlsx"


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<", b"\xff\xfe<", b"\xfe\xff\x00<"))


def _csv_decode(data: bytes) -> str:
    """Text of a CSV upload: UTF-8 (BOM optional), else GB18030 (a superset of GBK)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UploadRejected(MSG_CSV_UTF16)
    if b"\x00" in data:
        raise UploadRejected(MSG_CSV_NUL)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise UploadRejected(MSG_CSV_ENCODING) from None


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + "MB"
    return f"{size / 1024:.1f}".removesuffix(".0") + "KB"


def upload_sniff(*, name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> Format:
    """The upload's format, or UploadRejected with a message for the user.

    Call this before `workbook_read`: it is what stands between untrusted bytes and the
    parsers (size cap, allow-list, magic bytes, encryption, ZIP bomb).
    """
    if not data:
        raise UploadRejected(MSG_EMPTY)
    if len(data) > max_bytes:
        raise UploadRejected(
            f"文件超过{_size_text(max_bytes)}，请删除多余的工作表、图片或空行后重新上传，"
            "或分成几个文件上传"
        )
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    ext = "." + base.rsplit(".", 1)[1].lower() if "." in base else ""
    if ext not in (".xlsx", ".xls", ".csv"):
        raise UploadRejected(MSG_EXTENSION.format(ext=ext or "无扩展名"))

    is_zip, is_cfb = data.startswith(_ZIP_MAGIC), data.startswith(_CFB_MAGIC)
    if ext == ".csv":
        if is_zip or is_cfb:
            raise UploadRejected(MSG_WORKBOOK_AS_CSV)
        if data.startswith(_BINARY_MAGIC):
            raise UploadRejected(MSG_CSV_BINARY)
        _csv_decode(data)
        return "csv"
    if is_zip:
        return _sniff_zip(data, ext)
    if is_cfb:
        return _sniff_cfb(data, ext)
    if _looks_like_markup(data):
        raise UploadRejected(MSG_HTML)
    raise UploadRejected(MSG_DISGUISED)


# --------------------------------------------------------------------------------------------
# 3. Reading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    header_index: int  # 0-based row index of the header row
    headers: list[str]  # normalised header texts, one per sheet column
    positions: list[tuple[Column, int]]  # template columns found, with 0-based sheet column
    # Header cells that are no template column: {column (1-based), header, suggestion}.
    # Their cells are not imported, so the report lists them before anything else.
    unknown: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def _header_text(value: object) -> str:
    if value is None:
        return ""
    text = str(value).replace("\n", "").replace("\r", "").strip()
    # Some hand-made templates star required columns.
    return text.strip("*＊★ \u3000")


def header_suggest(
    header: str, *, taken: Iterable[str] = (), headers: Iterable[str] = BY_HEADER
) -> str:
    """The template header closest to a misspelt one ("" when none is close): 成员1身份证号
    → 成员1身份证件号. Headers already present elsewhere in the file are not offered."""
    taken = set(taken)
    candidates = [h for h in headers if h not in taken]
    match = difflib.get_close_matches(header, candidates, n=1, cutoff=0.6)
    return match[0] if match else ""


def _layout_find(
    head_rows: Sequence[Sequence[object]], *, strict: bool, columns: ColumnSet = STUDENT_SET
) -> _Layout:
    """Locate the header row among the first rows and map its cells to template columns."""
    by_header = columns.by_header
    found: tuple[int, list[str]] | None = None
    for index, row in enumerate(head_rows):
        texts = [_header_text(v) for v in row]
        if any(h in by_header for h in texts):
            found = (index, texts)
            break
    if found is None:
        if strict:
            raise UploadRejected(MSG_NO_HEADER)
        return _Layout(0, [], [])
    index, headers = found
    seen: dict[str, int] = {}
    duplicates: list[str] = []
    positions: list[tuple[Column, int]] = []
    strangers: list[tuple[int, str]] = []
    for ci, header in enumerate(headers):
        column = by_header.get(header)
        if column is None:
            if header:
                strangers.append((ci, header))
            continue
        if header in seen:
            duplicates.append(f"{header}（第{seen[header] + 1}列和第{ci + 1}列）")
            continue
        seen[header] = ci
        positions.append((column, ci))
    if strict and duplicates:
        raise UploadRejected(MSG_DUPLICATE_COLUMNS.format(columns="、".join(duplicates)))
    unknown = [
        {
            "column": ci + 1,
            "header": header,
            "suggestion": header_suggest(header, taken=seen, headers=by_header),
        }
        for ci, header in strangers
    ]
    missing = [c.header for c in columns.required if c.header not in seen]
    if strict and missing:
        named = []
        for header in missing:
            near = [u for u in unknown if u["suggestion"] == header]
            named.append(
                MSG_MISSING_NEAR.format(
                    header=header, column=near[0]["column"], given=near[0]["header"]
                )
                if near
                else header
            )
        raise UploadRejected(MSG_MISSING_COLUMNS.format(columns="、".join(named)))
    positions.sort(key=lambda p: p[1])
    return _Layout(index, headers, positions, unknown)


def _cell_convert(value: object, *, id_column: bool, month_only: bool) -> CellValue:
    """A non-string calamine value as the text a user would have typed."""
    if value is None:
        return None
    if type(value) is float:
        if value.is_integer():
            # A float of 16+ digits has lost digits (Excel keeps 15): hand the raw float on so
            # validation can say "set the column to text and type the number again".
            if id_column and abs(value) >= 1e15:
                return value
            return str(int(value))
        return repr(value)
    if type(value) is bool:
        return "是" if value else "否"
    if isinstance(value, datetime.date):
        if month_only:
            return f"{value.year:04d}{value.month:02d}"
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    text = str(value)
    return text if text.strip() else None


def _rows_convert(
    rows: Iterator[list[object]], layout: _Layout, first_row_number: int
) -> Iterator[tuple[int, dict[str, CellValue]]]:
    # Per-column facts are computed once; the per-cell loop is a type test and a dict store.
    plan = [(c.key, ci, c.kind == "id_number", c.kind == "ym6") for c, ci in layout.positions]
    width = max((ci for _, ci, _, _ in plan), default=-1) + 1
    for number, row in enumerate(rows, start=first_row_number):
        if len(row) < width:
            row = row + [""] * (width - len(row))
        record: dict[str, CellValue] = {}
        filled = False
        for key, ci, id_column, month_only in plan:
            value = row[ci]
            if type(value) is str:
                if not value or value.isspace():
                    record[key] = None
                    continue
                record[key] = value
                filled = True
                continue
            converted = _cell_convert(value, id_column=id_column, month_only=month_only)
            record[key] = converted
            if converted is not None:
                filled = True
        if filled:
            yield number, record


def _sheet_pick(book: python_calamine.CalamineWorkbook, data_sheet: str = DATA_SHEET) -> str:
    """The template's data sheet if present, else the first visible worksheet."""
    names = book.sheet_names
    if data_sheet in names:
        return data_sheet
    for meta in book.sheets_metadata:
        if (
            meta.typ == python_calamine.SheetTypeEnum.WorkSheet
            and meta.visible == python_calamine.SheetVisibleEnum.Visible
        ):
            return str(meta.name)
    if not names:
        raise UploadRejected(MSG_UNREADABLE)
    return str(names[0])


def _calamine_sheet(data: bytes, columns: ColumnSet = STUDENT_SET) -> python_calamine.CalamineSheet:
    """The data sheet, parsed; UploadRejected when it cannot be read or is out of bounds."""
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        name = _sheet_pick(book, columns.data_sheet)
        sheet = book.get_sheet_by_name(name)
    except python_calamine.PasswordError:
        raise UploadRejected(MSG_ENCRYPTED) from None
    except (python_calamine.CalamineError, ValueError, OSError):
        # from_filelike tries every format in turn and reports only "Cannot detect file
        # format", so an encrypted .xls does not surface as PasswordError.
        if data.startswith(_CFB_MAGIC) and _cfb_encrypted(data):
            raise UploadRejected(MSG_ENCRYPTED) from None
        raise UploadRejected(MSG_UNREADABLE) from None
    end = sheet.end
    if end is None:
        raise UploadRejected(columns.sheet_empty.format(sheet=name))
    if end[0] + 1 > MAX_SHEET_ROWS:
        raise UploadRejected(MSG_SHEET_TOO_TALL.format(rows=MAX_SHEET_ROWS))
    return sheet


def _calamine_rows(sheet: python_calamine.CalamineSheet) -> Iterator[list[object]]:
    """Rows from Excel row 1, each a list from column A."""
    # to_python(skip_empty_area=False) anchors the grid at A1, so list positions are Excel
    # positions; iter_rows() would start at the first used column instead.
    return iter(sheet.to_python(skip_empty_area=False))


def _csv_grid(data: bytes) -> Iterator[list[object]]:
    text = _csv_decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[list[object]]:
        try:
            yield from reader
        except csv.Error as exc:
            raise UploadRejected(MSG_CSV_SYNTAX.format(line=reader.line_num, detail=exc)) from None

    return rows()


def _grid(data: bytes, fmt: str, columns: ColumnSet = STUDENT_SET) -> Iterator[list[object]]:
    if fmt == "csv":
        return _csv_grid(data)
    if fmt in ("xlsx", "xls"):
        return _calamine_rows(_calamine_sheet(data, columns))
    raise ValueError(f"unknown workbook format {fmt!r}")


@dataclass
class Sheet:
    """A read sheet: its header and the raw rows under it, converted on demand and in
    slices, so that the import can hand each process its share (common.forking)."""

    headers: list[str]
    grid: list[list[object]]  # the rows under the header row, as the reader gave them
    layout: _Layout
    first_number: int  # Excel row number of grid[0]

    def records(
        self, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[int, dict[str, CellValue]]]:
        """(Excel row number, {Column.key: value}) of the filled rows in grid[start:stop]."""
        return _rows_convert(iter(self.grid[start:stop]), self.layout, self.first_number + start)


def workbook_sheet(*, data: bytes, fmt: str, columns: ColumnSet = STUDENT_SET) -> Sheet:
    """The whole sheet read (the header checked: UploadRejected), rows not yet converted."""
    rows = _grid(data, fmt, columns)
    head: list[list[object]] = []
    for row in rows:
        head.append(row)
        if len(head) == HEADER_SEARCH_ROWS:
            break
    layout = _layout_find(head, strict=True, columns=columns)
    grid = head[layout.header_index + 1 :]
    grid.extend(rows)
    return Sheet(layout.headers, grid, layout, layout.header_index + 2)


def workbook_read(
    *, data: bytes, fmt: str
) -> tuple[list[str], Iterator[tuple[int, dict[str, CellValue]]]]:
    """The header row and the filled rows as (Excel row number, {Column.key: value}).

    Header problems raise UploadRejected here, before any row is produced. Values are
    text as typed (None when empty); dates become YYYYMMDD (YYYYMM in year-month
    columns), whole numbers lose their ".0", and an ID number that Excel stored as a 16+
    digit float comes back as that float so validation can reject it.
    """
    sheet = workbook_sheet(data=data, fmt=fmt)
    return sheet.headers, sheet.records()


# --------------------------------------------------------------------------------------------
# 4. Annotated error workbook
# --------------------------------------------------------------------------------------------


def _error_fill() -> PatternFill:
    return PatternFill(fill_type="solid", start_color=ERROR_FILL_RGB, end_color=ERROR_FILL_RGB)


def _message_line(key: str, message: str) -> str:
    column = BY_KEY.get(key)
    if column is None or message.startswith(column.header):
        return message
    return f"{column.header}：{message}"


def _normalised_fill() -> PatternFill:
    return PatternFill(
        fill_type="solid", start_color=NORMALISED_FILL_RGB, end_color=NORMALISED_FILL_RGB
    )


Normalisations = dict[int, list[tuple[str, str]]]  # Excel row -> (Column.key, value stored)


def _comment(messages: list[str]) -> Comment:
    text = "\n".join(messages)
    return Comment(text, ANNOTATION_AUTHOR, height=40 + 20 * len(messages), width=280)


def _annotate_xlsx(
    data: bytes, errors: dict[int, list[tuple[str, str]]], normalised: Normalisations
) -> bytes:
    # Marking the uploaded file itself keeps the user's formatting, drop-downs and other
    # sheets, but openpyxl's normal mode holds every cell as a Python object: measured here
    # (no lxml) about 3 s to load and 1.3 s to save per 1,000 rows of 71 columns, and about
    # 35 KB of memory per row. The read-only and write-only modes cannot modify a sheet and
    # calamine cannot write, so big sheets are rebuilt from the read values instead.
    sheet = _calamine_sheet(data)
    height, width = (sheet.end or (0, 0))[0] + 1, (sheet.end or (0, 0))[1] + 1
    if height * width > ANNOTATE_IN_PLACE_MAX_CELLS:
        return _annotate_rebuilt(_calamine_rows(sheet), errors, normalised)
    name = sheet.name
    try:
        wb = load_workbook(io.BytesIO(data), rich_text=False, keep_links=False)
    except (
        InvalidFileException,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        OSError,
    ):
        raise UploadRejected(MSG_UNREADABLE) from None
    ws = wb[name]
    head = [list(r) for r in ws.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True)]
    layout = _layout_find(head, strict=False)
    header_row = layout.header_index + 1
    column_of = {c.key: ci + 1 for c, ci in layout.positions}

    if ERROR_HEADER in layout.headers:
        # A previously annotated file came back: clear the old marks so fixed cells stop
        # looking wrong. This walks every cell once, only in this case.
        error_col = layout.headers.index(ERROR_HEADER) + 1
        for row in ws.iter_rows(min_row=header_row + 1):
            for cell in row:
                if cell.comment is not None and cell.comment.author == ANNOTATION_AUTHOR:
                    cell.comment = None
                if cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb in {
                    ERROR_FILL_RGB,
                    NORMALISED_FILL_RGB,
                }:
                    cell.fill = PatternFill(fill_type=None)
            if len(row) >= error_col:
                cell_text_safe(row[error_col - 1], None)
    elif layout.positions:
        # Right of the last header: the user's view of "the last column". Styled empty cells
        # (ws.max_column) could push it arbitrarily far right.
        error_col = max(i + 1 for i, h in enumerate(layout.headers) if h) + 1
    else:
        error_col = min(ws.max_column + 1, 16384)

    header_cell = cell_put(ws, header_row, error_col, ERROR_HEADER)
    header_cell.font = Font(bold=True, color=RED)
    ws.column_dimensions[get_column_letter(error_col)].width = 60
    wrap = Alignment(wrap_text=True, vertical="top")
    for row_number, changes in normalised.items():
        for key, after in changes:
            ci = column_of.get(key)
            if ci is None or any(k == key for k, _m in errors.get(row_number, ())):
                continue  # an error mark on the same cell says more
            cell = ws.cell(row=row_number, column=ci)
            if isinstance(cell, MergedCell):
                continue
            cell.fill = _normalised_fill()
            cell.comment = _comment([MSG_NORMALISED.format(after=after)])
    for row_number, problems in sorted(errors.items()):
        by_cell: dict[int, list[str]] = {}
        for key, message in problems:
            ci = column_of.get(key)
            if ci is not None:
                by_cell.setdefault(ci, []).append(message)
        for ci, messages in by_cell.items():
            cell = ws.cell(row=row_number, column=ci)
            if isinstance(cell, MergedCell):
                continue  # the template forbids merging; such a cell cannot carry marks
            cell.fill = _error_fill()
            cell.comment = _comment(messages)
        note = cell_put(
            ws, row_number, error_col, "；".join(_message_line(k, m) for k, m in problems)
        )
        note.alignment = wrap
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _annotate_rebuilt(
    rows: Iterator[list[object]],
    errors: dict[int, list[tuple[str, str]]],
    normalised: Normalisations,
) -> bytes:
    """xls and csv uploads come back as .xlsx: the read values, streamed in write-only mode."""
    grid = list(rows)
    layout = _layout_find(grid[:HEADER_SEARCH_ROWS], strict=False)
    column_of = {c.key: ci for c, ci in layout.positions}
    kinds = {ci: c.kind for c, ci in layout.positions}
    # The error column goes right of everything, so no uploaded value is overwritten.
    error_index = max([len(layout.headers), *(len(r) for r in grid)])

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(DATA_SHEET)
    ws.freeze_panes = f"A{layout.header_index + 2}"
    ws.column_dimensions[get_column_letter(error_index + 1)].width = 60
    header_font = Font(bold=True)
    total = max(len(grid), max(errors, default=0))
    for index in range(total):
        raw = grid[index] if index < len(grid) else []
        values: list[object] = [None] * error_index
        for ci, value in enumerate(raw):
            if type(value) is str:
                values[ci] = value or None
            elif value is not None:
                kind = kinds.get(ci)
                values[ci] = _cell_convert(
                    value, id_column=kind == "id_number", month_only=kind == "ym6"
                )
        if index == layout.header_index:
            header: list[object] = []
            for value in values:
                cell = write_only_cell(ws, value)
                cell.font = header_font
                header.append(cell)
            note = write_only_cell(ws, ERROR_HEADER)
            note.font = Font(bold=True, color=RED)
            ws.append(row_safe(ws, [*header, note]))
            continue
        problems = errors.get(index + 1)
        changes = normalised.get(index + 1)
        if not problems and not changes:
            ws.append(row_safe(ws, values))
            continue
        by_cell: dict[int, list[str]] = {}
        for key, message in problems or ():
            ci = column_of.get(key)
            if ci is not None:
                by_cell.setdefault(ci, []).append(message)
        for ci, messages in by_cell.items():
            cell = write_only_cell(ws, values[ci])
            cell.fill = _error_fill()
            cell.comment = _comment(messages)
            values[ci] = cell
        for key, after in changes or ():
            ci = column_of.get(key)
            if ci is None or ci in by_cell:
                continue
            cell = write_only_cell(ws, values[ci])
            cell.fill = _normalised_fill()
            cell.comment = _comment([MSG_NORMALISED.format(after=after)])
            values[ci] = cell
        note = "；".join(_message_line(k, m) for k, m in problems or ())
        ws.append(row_safe(ws, [*values, note or None]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def workbook_annotate(
    *,
    data: bytes,
    fmt: str,
    errors: dict[int, list[tuple[str, str]]],
    normalised: Normalisations | None = None,
) -> bytes:
    """The upload as .xlsx with each problem cell filled red and commented, plus a last
    column 错误说明 holding all of the row's messages; cells accepted after a
    normalisation are filled light blue with the stored value in their comment.

    `errors` maps an Excel row number to (Column.key, message) pairs; keys that are not a
    column of the sheet ("row", "member1", "member2") only reach the 错误说明 column.
    `normalised` maps an Excel row number to (Column.key, value as stored) pairs.
    """
    changes = normalised or {}
    if fmt == "xlsx":
        return _annotate_xlsx(data, errors, changes)
    if fmt == "xls":
        return _annotate_rebuilt(_calamine_rows(_calamine_sheet(data)), errors, changes)
    if fmt == "csv":
        return _annotate_rebuilt(_csv_grid(data), errors, changes)
    raise ValueError(f"unknown workbook format {fmt!r}")


# --------------------------------------------------------------------------------------------
# 5. Export
# --------------------------------------------------------------------------------------------


def rows_export(
    *,
    rows: Iterable[dict[str, object]],
    columns: Sequence[Column] = COLUMNS,
    sheet: str = DATA_SHEET,
    marked: bool = False,
    notes: Sequence[tuple[str, str]] = (),
) -> bytes:
    """An .xlsx of records in national column order, streamed with openpyxl's write-only mode.

    Values are expected as display strings (labels, not codes); anything else is written as
    its str() so that long digit strings never turn into numbers. The sheet is named like the
    template's data sheet and uses its headers, so an export can be imported again.
    `marked` colours required headers red (a template); `notes` adds a 填写说明 sheet of
    (header, what to fill in) lines after the data sheet.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for ci, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(ci)].width = _column_width(column)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    red = Font(bold=True, color=RED)
    header: list[Cell] = []
    for column in columns:
        cell = write_only_cell(ws, column.header)
        cell.font = red if marked and column.required else bold
        header.append(cell)
    ws.append(row_safe(ws, header))
    keys = [column.key for column in columns]
    for record in rows:
        values: list[str | None] = []
        for key in keys:
            value = record.get(key)
            values.append(None if value is None or value == "" else str(value))
        ws.append(row_safe(ws, values))
    if notes:
        help_ws = wb.create_sheet(INSTRUCTIONS_SHEET)
        help_ws.column_dimensions["A"].width = 20
        help_ws.column_dimensions["B"].width = 80
        help_ws.append(row_safe(help_ws, ["列名", "填写说明"]))
        for line in notes:
            help_ws.append(row_safe(help_ws, list(line)))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
