"""`template_build`: the downloadable import template (openpyxl: drop-downs, red required
headers, comments, text-formatted number columns), domain.md §2.3."""

from __future__ import annotations

import io
from functools import lru_cache

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from common.spreadsheets import cell_put
from tenant_apps.registry.codes import CodeTable, table
from tenant_apps.registry.fields import (
    COLUMNS,
    CONDITIONS,
    Column,
    requirement,
)
from tenant_apps.registry.imports.columns import (
    ANNOTATION_AUTHOR,
    CODES_SHEET,
    DATA_SHEET,
    INSTRUCTIONS_SHEET,
    MARK_COLOURS,
    MARK_WORDS,
    TEMPLATE_ROWS,
    _code_table_for,
    _column_width,
    _is_text_column,
)


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
