"""The validator's messages (domain.md §2), one per error kind; `{header}` is the
column's header."""

from __future__ import annotations

# -- Messages ------------------------------------------------------------------------
# Every message starts with (or contains) the column's header, so a message read out
# of context in an error list still says which cell is wrong.

MSG_REQUIRED = "{header}为必填项，不能为空。"
MSG_ID_REQUIRED = "{header}为必填项；只有身份证件类型为“其他”时可以不填。"
MSG_MEMBER_ID_TYPE = "{header}为必填项：填写了身份证件号（非18位居民身份证号）时须填写证件类型。"
MSG_MAX_LENGTH = "{header}最多{limit}个字符，现为{length}个。"
MSG_CODE_UNKNOWN = "{header}“{value}”不是有效的值，请填写代码或名称，如“{code}”或“{label}”。"
MSG_ETHNICITY_SUFFIX = "{header}须填写全称，以“族”结尾，如“{example}”。"
MSG_YESNO = "{header}应填写“是”或“否”（或1/0）。"
MSG_NAME_SPACE = "{header}中间不能有空格。"
MSG_NAME_CHARS = "{header}只能包含汉字、字母和间隔号“·”，间隔号不能在开头、结尾或连续出现。"
MSG_NAME_LENGTH = "{header}应为{low}–{high}个字，现为{length}个。"
MSG_ID_AS_NUMBER = (
    "{header}被Excel当作数字保存，末几位已经丢失。请把该列单元格设置为“文本”格式后重新填写。"
)
MSG_ID_FORMAT = "{header}应为18位：前17位为数字，最后1位为数字或X。"
MSG_ID_OTHER_FORMAT = "{header}应为6–30位字母、数字、括号或连字符。"
MSG_ID_BIRTH_INVALID = "{header}第7–14位“{digits}”不是有效的出生日期。"
MSG_ID_BIRTH_FUTURE = "{header}第7–14位的出生日期“{digits}”晚于今天。"
# Never the expected character: clerks typed it in and turned a typo elsewhere in the
# number into a valid, wrong ID (issue 19: 367 times in a replay, once another child's).
MSG_ID_CHECK_DIGIT = (
    "{header}校验位不符：号码中有录入错误，不一定在最后一位。请对照户口簿或身份证件逐位核对。"
)
MSG_ID_BIRTH_MISMATCH = "{header}中的出生日期“{in_id}”与出生日期“{given}”不一致。"
MSG_ID_SEX_MISMATCH = "{header}第17位表示{in_id}性，与性别“{given}”不一致。"
MSG_DATE_FORMAT = "{header}应为8位数字的日期（年月日），如“20180301”。"
MSG_DATE_INVALID = "{header}“{value}”不是有效的日期。"
MSG_DATE_FUTURE = "{header}“{value}”晚于今天。"
MSG_DATE_DAY_MONTH = (
    "{header}“{value}”无法确定是日/月/年还是月/日/年，请按年月日写成8位数字，如“20180301”。"
)
MSG_DATE_SHORT_YEAR = "{header}“{value}”只有两位年份，无法确定世纪，请写成8位数字，如“20180301”。"
MSG_AGE_RANGE = (
    "{header}与学段不符：按入学年月{ym}计算入学时{age}岁，{stage}入学年龄应为{low}–{high}岁。"
)
MSG_YM_FORMAT = "{header}应为6位数字的年月，如“202409”。"
MSG_YM_MONTH = "{header}“{value}”的月份应为01–12。"
MSG_YM_FUTURE = "{header}“{value}”太晚：最多只能填写三个月以后的入学年月。"
MSG_YM_BEFORE_BIRTH = "{header}“{value}”不能早于出生年份加3年（{year}年）。"
MSG_CLASS_ENTRY = "班级编号的入学年份与入学年月不一致：班级“{class_no}”，{header}“{value}”。"
MSG_CLASS_FORMAT = (
    "{header}应为7位数字：4位入学年份、1位学段（1小学、2初中、3高中）、2位班号，如“2024101”。"
)
MSG_CLASS_YEAR = "{header}“{value}”的入学年份应在1990–{high}之间。"
MSG_CLASS_UNKNOWN = "{header}：学校没有班级“{value}”，请先建立班级。"
MSG_GRADE_FORMAT = "{header}“{value}”无法识别，请填写如“小学2024级”或“一年级”“七年级”“初一”“高一”。"
MSG_GRADE_MISMATCH = "{header}“{value}”与班级“{class_no}”不一致：该班为“{derived}”{now}。"
MSG_REGION = "{header}：{message}"
MSG_PHONE = (
    "{header}“{value}”不是有效的电话号码：手机为1开头的11位数字，固定电话如“0731-83456789”。"
)
MSG_POSTCODE = "{header}应为6位数字。"
MSG_EMAIL = "{header}“{value}”不是有效的电子信箱地址。"
MSG_INT = "{header}应为1–{high}之间的整数。"
MSG_DECIMAL = "{header}应为0–200之间的数字（公里）。"
MSG_ID_VALIDITY = "{header}应写作“起始日期-截止日期”，如“20240301-20290301”。"
MSG_ID_VALIDITY_ORDER = "{header}的起始日期应早于截止日期。"
MSG_MEMBER_MISSING = "{header}须填写{missing}（全国学籍系统要求填写两位家庭成员或监护人）。"
MSG_MEMBER_ID_REQUIRED = "学生没有身份证件号时，家庭成员中至少一人须填写有效的居民身份证号。"
MSG_MEMBER_GUARDIAN = "家庭成员中至少一人须为监护人（是否监护人填“是”）。"
