"""What the template, the reader and the annotator share: sheet names, limits, the
upload messages, `ColumnSet` (which columns a reader looks for) and column metadata
(hints, text columns, widths). The national student template, domain.md §2.3, §3.16.

The workbook modules of this package work on bytes and plain dicts: no database, no
request, so the same code runs in a view, a Celery task or a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tenant_apps.registry.codes import CodeTable, table
from tenant_apps.registry.fields import (
    BY_HEADER,
    REQUIRED_HEADERS,
    Column,
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


def _code_table_for(column: Column) -> CodeTable | None:
    if column.kind == "yesno":
        return table("yesno")
    if column.kind == "code" and column.code_table:
        return table(column.code_table)
    return None


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
