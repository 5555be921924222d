"""Every rule of domain.md §2 for one row of the national template, in one place.

Single entry, the API and the bulk importer all call `RowValidator.validate` with the
template's cells keyed by `fields.Column.key`. They get back the normalised, typed
values and every error of the row at once: the validator never stops at the first.

The importer checks 50,000 rows in one go. So `RowValidator.__init__` builds everything
that does not depend on the row: code lookups as plain dicts, the regexes, one check
function per column and the warm division-code cache. Successful results of the
repetitive cells (dates, division codes, class numbers) are memoised per validator,
because a school's rows repeat the same few townships, classes and birthdays.

Error kinds (`FieldError.kind`):
    required, max_length, code_unknown, ethnicity_suffix, yesno,
    name_space, name_chars, name_length,
    id_number_as_number, id_format, id_birth_invalid, id_check_digit,
    id_birth_mismatch, id_sex_mismatch,
    date_invalid, date_future, age_range, entry_ym, class_entry_mismatch,
    class_no, class_unknown, grade,
    region_format, region_unknown, region_village (the region validator's codes),
    phone, postcode, email, int, decimal, id_validity,
    member_missing, member_id_required, member_guardian.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import compress, repeat
from operator import is_

from django.core.exceptions import ValidationError
from django.utils import timezone
from stdnum.cn import ric

from shared_apps.regions import validators as region_validators
from tenant_apps.registry.codes import CodeTable, code_tables
from tenant_apps.registry.fields import BY_KEY, COLUMNS, Column
from tenant_apps.registry.models import STAGE_DIGIT, STAGE_NAME

__all__ = ["FieldError", "Normalised", "RowResult", "RowValidator", "validate_student"]


@dataclass(frozen=True)
class FieldError:
    key: str  # Column.key, or "member1"/"member2"/"row" for row-level rules
    header: str  # Chinese header shown to users
    value: str  # the raw value as given ("" if none)
    message: str  # Chinese; names the field and the rule
    kind: str  # short machine code of the rule (see the module docstring)


@dataclass(frozen=True)
class Normalised:
    """A cell accepted after a correction the registrar should see (full-width digits,
    stray spaces, a lower-case x, 2018-03-01 read as 20180301)."""

    key: str
    header: str
    before: str  # as given
    after: str  # as stored


@dataclass
class RowResult:
    # Normalised typed values keyed by Column.key; None for an empty cell or one that
    # could not be read. Meaningful as a whole only when `errors` is empty.
    data: dict[str, object]
    errors: list[FieldError] = field(default_factory=list)
    normalised: list[Normalised] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Invalid(Exception):
    """Raised by a column's check. Valid cells never raise, and since Python 3.11 a try
    block that does not raise costs nothing, so the fast path stays fast."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


Check = Callable[[object], object]

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
MSG_ID_CHECK_DIGIT = "{header}校验位错误，应为“{check}”。"
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

# -- Constants -----------------------------------------------------------------------

# Middle-dot look-alikes typed in minority names (JY/T example 买买提·阿不都热依木); the
# ASCII full stop is among them because it is what most keyboards produce.
_DOTS = "·•・‧．･∙⋅⸱."
_NAME_TABLE = str.maketrans(
    {
        **dict.fromkeys(map(ord, _DOTS), "·"),
        # Full-width Latin letters; names are not NFKC-normalised as a whole because
        # NFKC would also rewrite CJK compatibility ideographs used in real names.
        **{0xFF21 + i: chr(0x41 + i) for i in range(26)},
        **{0xFF41 + i: chr(0x61 + i) for i in range(26)},
    }
)
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
_NAME_RE = re.compile(f"[A-Za-z{_HAN}]+(?:·[A-Za-z{_HAN}]+)*")
_NAME_MIN = 2

_SCIENTIFIC_RE = re.compile(r"[0-9.]+E\+?[0-9]+", re.IGNORECASE)
_ID_OTHER_RE = re.compile(r"[A-Za-z0-9()\-]{6,30}")
_DATE_SEP_RE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_YM_SEP_RE = re.compile(r"(\d{4})[-/.年](\d{1,2})月?")
# What Excel and WPS write for a date cell saved as text: the date, a space or "T", and a
# time of day (2018-02-24 00:00:00, 2018/2/24 0:00). The time is dropped.
_DATE_TIME_RE = re.compile(
    r"(\d{8}|\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?)[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
)
# A date serial (days since 1899-12-30, Excel's and WPS's 1900 system) as a CSV holds it:
# five digits, optionally with the time of day as a fraction. Five digits cover
# 1927-05-18 .. 2173-10-14; YYYYMMDD has eight, so the two never meet.
_DATE_SERIAL_RE = re.compile(r"(\d{5})(?:\.\d+)?")
_SERIAL_EPOCH = dt.date(1899, 12, 30)
# Forms a person may mean two ways: 02/03/2018 (day or month first) and 18-02-24
# (which century): refused with a message saying why, never guessed.
_DATE_DMY_RE = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")
_DATE_SHORT_RE = re.compile(r"\d{6}|\d{2}[-/.]\d{1,2}[-/.]\d{1,2}")
_VALIDITY_RE = re.compile(
    r"(\d{8}|\d{4}[-/.]\d{1,2}[-/.]\d{1,2})[-~至—–](\d{8}|\d{4}[-/.]\d{1,2}[-/.]\d{1,2})"
)
_PHONE_RE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?", re.ASCII)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_DISTANCE_SUFFIXES = ("公里", "千米", "km", "KM", "Km")
_DISTANCE_MAX = Decimal(200)
_CENT = Decimal("0.01")
_INT_MAX = 32767  # the model's PositiveSmallIntegerField

_YESNO_EXTRA = {"y": True, "n": False, "yes": True, "no": False, "true": True, "false": False}

_STAGE_BY_DIGIT = {digit: STAGE_NAME[stage] for stage, digit in STAGE_DIGIT.items()}
# Age in whole years on the first day of the entry month (domain.md §2.2 brief).
_AGE_RANGE = {"1": (5, 9), "2": (10, 16), "3": (13, 20)}
_ORDINAL_NAMES = {
    "1": ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
    "2": ("七年级", "八年级", "九年级"),
    "3": ("高一", "高二", "高三"),
}
_DERIVED_GRADE_RE = re.compile(r"(小学|初中|高中)(\d{4})级")

# Kinds whose cells repeat across a school's rows and whose check depends only on the
# cell (and the validator's `today` and class list): their results are memoised.
_MEMO_KINDS = frozenset({"date8", "ym6", "region12", "class_no", "postcode", "decimal", "int"})
# Kinds whose stored text is the corrected cell itself, so that a difference from the
# cell as given is a normalisation worth showing. Code tables (label -> code), yes/no,
# numbers and the grade's spelling are readings, not corrections.
_SHOWN_KINDS = frozenset(
    {
        "text", "name", "date8", "ym6", "region12", "id_number",
        "class_no", "phone", "postcode", "email", "id_validity",
    }
)  # fmt: skip
# Marks a cell that the fast look-up could not resolve (None is a real value).
_MISS = object()
# Memo dicts stop growing here; beyond it a cell is simply checked again.
_MEMO_LIMIT = 100_000


def _grade_ordinals() -> dict[str, tuple[str, int]]:
    """Every accepted spelling of a grade ordinal -> (stage digit, year within stage)."""
    cn = "一二三四五六七八九"
    out: dict[str, tuple[str, int]] = {}
    for i in range(1, 7):
        for text in (f"{cn[i - 1]}年级", f"{i}年级", f"小学{cn[i - 1]}年级"):
            out[text] = ("1", i)
    for i in range(1, 4):
        for text in (f"{cn[i + 5]}年级", f"{i + 6}年级", f"初{cn[i - 1]}", f"初中{cn[i - 1]}年级"):
            out[text] = ("2", i)
        for text in (f"高{cn[i - 1]}", f"高中{cn[i - 1]}年级"):
            out[text] = ("3", i)
    return out


_GRADE_ORDINALS = _grade_ordinals()


# -- Cell helpers --------------------------------------------------------------------


def _compact(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII) and no whitespace at all.

    Both steps are skipped when a cheap test proves them idle: pure ASCII needs no NFKC
    and an alphanumeric string holds no whitespace. Most cells take that path."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if not text.isalnum():
        text = "".join(text.split())
    return text


def _cell_text(value: object) -> str:
    """A non-text cell as the digits a person would have typed: Excel hands over
    20180301 as 20180301.0 and a postcode as an int."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return format(value.to_integral_value(), "f")
        return format(value, "f")
    if isinstance(value, dt.date):  # datetime included
        return _ymd(value)
    return str(value).strip()


def _shown(value: object) -> str:
    """The raw value for FieldError.value: as given, or its plain text form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _ymd(day: dt.date) -> str:
    """YYYYMMDD; several times faster than strftime, which matters per row."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _is_empty_number(value: object) -> bool:
    # pandas and some spreadsheet readers hand over an empty cell as NaN.
    return isinstance(value, float) and math.isnan(value)


def _parse_date_text(text: str) -> tuple[int, int, int] | None:
    """YYYYMMDD or a separated form (2018-03-01, 2018/3/1, 2018.03.01, 2018年3月1日)."""
    if len(text) == 8 and text.isdigit() and text.isascii():
        return int(text[:4]), int(text[4:6]), int(text[6:])
    match = _DATE_SEP_RE.fullmatch(text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def _date_serial(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of an Excel/WPS date serial such as 43151 (2018-02-24)."""
    if _DATE_SERIAL_RE.fullmatch(text) is None:
        return None
    day = _SERIAL_EPOCH + dt.timedelta(days=int(text[:5]))
    return day.year, day.month, day.day


def _date_refused(header: str, text: str) -> tuple[int, int, int]:
    """Raise the message that says why `text` is not read as a date."""
    if _DATE_DMY_RE.fullmatch(text):
        raise _Invalid("date_invalid", MSG_DATE_DAY_MONTH.format(header=header, value=text))
    if _DATE_SHORT_RE.fullmatch(text):
        raise _Invalid("date_invalid", MSG_DATE_SHORT_YEAR.format(header=header, value=text))
    raise _Invalid("date_invalid", MSG_DATE_FORMAT.format(header=header))


def _stored_text(value: object) -> str:
    """A checked value as the text it is stored and shown as."""
    if isinstance(value, dt.date):
        return _ymd(value)
    return str(value)


def _memoised(check: Check, memo: dict[object, object], *, shown: bool) -> Check:
    """Remembers successful results of `check` by cell text; errors are not kept (they
    are rare, and each row's error needs its own FieldError anyway). With `shown`, a
    cell that needed a correction is not kept either: a memo hit bypasses `validate`'s
    check, and every corrected cell must be reported, not only the first."""

    def memo_check(value: object) -> object:
        result = check(value)
        if (
            isinstance(value, str)
            and len(memo) < _MEMO_LIMIT
            and (not shown or _stored_text(result) == value)
        ):
            memo[value] = result
        return result

    return memo_check


def _lookup_dict(table: CodeTable) -> dict[str, str]:
    """Every accepted spelling of a table's values -> code.

    Same precedence as CodeTable.lookup (code, then label, then alias), plus what people
    and Excel do to the values: NFKC forms of labels with full-width brackets, lower-case
    letter codes, and numeric codes whose leading zero Excel dropped ("01" -> 1)."""
    out: dict[str, str] = {}
    out.update(table.aliases)
    for code, label in table.codes:
        out[label] = code
        out[unicodedata.normalize("NFKC", "".join(label.split()))] = code
    for code, _label in table.codes:
        out[code] = code
        out[code.lower()] = code
    for code, _label in table.codes:
        if code.isdigit():
            out.setdefault(str(int(code)), code)
    return out


# -- The validator -------------------------------------------------------------------


@dataclass(frozen=True)
class _ClassInfo:
    """What a valid class number says, worked out once per class number."""

    stage: str  # the stage digit: 1 primary, 2 junior, 3 senior
    entry_year: int
    derived_grade: str  # e.g. 小学2024级
    grade_ordinal: tuple[str, int]  # (stage, year within stage) in today's school year
    age_low: int
    age_high: int


@dataclass(frozen=True)
class _MemberKeys:
    number: int
    group: str  # 成员1
    name: str
    relation: str
    id_type: str
    id_number: str
    is_guardian: str
    id_type_header: str
    id_number_header: str


def resident_id_problems(
    number: str,
    *,
    header: str,
    today: dt.date,
    day: Callable[[str], dt.date | None] | None = None,
) -> tuple[list[tuple[str, str]], dt.date | None]:
    """GB 11643 checks of an 18-character resident ID number, the one copy of the rule
    (pupils, family members and teachers alike).

    Returns the problems as (code, message naming `header`) — an "id_format" problem
    alone when the shape is wrong — and the birth date of positions 7–14 (None when it is
    not a real past date). Positions 1–6 are not checked: they may be a county code that
    no longer exists (domain.md §2.2), which is also why stdnum's validate() is not used.
    `day` may serve already-parsed YYYYMMDD strings from a caller's memo."""
    if not (
        len(number) == 18
        and number.isascii()
        and number[:17].isdigit()
        and (number[17].isdigit() or number[17] == "X")
    ):
        return [("id_format", MSG_ID_FORMAT.format(header=header))], None
    problems: list[tuple[str, str]] = []
    digits = number[6:14]
    birth = day(digits) if day is not None else None
    if birth is None:
        try:
            birth = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            birth = None
    if birth is None or birth > today:
        template = MSG_ID_BIRTH_INVALID if birth is None else MSG_ID_BIRTH_FUTURE
        problems.append(("id_birth_invalid", template.format(header=header, digits=digits)))
        birth = None
    # calc_check_digit ignores the last character of what it is given.
    expected = ric.calc_check_digit(number[:17] + "0")
    if number[17] != expected:
        problems.append(
            ("id_check_digit", MSG_ID_CHECK_DIGIT.format(header=header, check=expected))
        )
    return problems, birth


def id_sex_problem(number: str, sex: str, *, header: str) -> str:
    """ "" when the 17th digit's parity agrees with `sex` ("1" 男, "2" 女), else the message."""
    in_id = "1" if number[16] in "13579" else "2"
    if in_id == sex:
        return ""
    label = {"1": "男", "2": "女"}
    return MSG_ID_SEX_MISMATCH.format(header=header, in_id=label[in_id], given=label.get(sex, sex))


def text_compact(text: str) -> str:
    """Full-width characters to half-width and every space removed, as the importer
    normalises codes, phones and ID numbers."""
    return _compact(text)


def phone_valid(text: str) -> bool:
    """A mobile (11 digits from 13–19) or fixed-line number, as the template asks."""
    return _PHONE_RE.fullmatch(text) is not None


class RowValidator:
    """Checks rows of the national template. Build one per import job or request (it
    binds `today` and the school's class numbers) and call `validate` for each row."""

    def __init__(
        self, *, today: dt.date | None = None, class_nos: Iterable[str] | None = None
    ) -> None:
        self.today = today if today is not None else timezone.localdate()
        self.class_nos = frozenset(class_nos) if class_nos is not None else None
        # New pupils are registered over the summer for the September intake, so an entry
        # month up to three months ahead is accepted; later ones are typing mistakes.
        ahead = self.today.month + 3
        year, month = self.today.year + (ahead - 1) // 12, (ahead - 1) % 12 + 1
        self._today_ym = f"{year:04d}{month:02d}"
        # A school year starts on 1 September; grade ordinals are relative to it.
        self._school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        # Loads the division code set into the region validator's process-wide cache now,
        # so the first row does not pay for the query.
        region_validators._known_codes()
        tables = code_tables()
        self._lookups = {name: _lookup_dict(t) for name, t in tables.items()}
        self._examples = {name: t.codes[0] for name, t in tables.items()}
        yesno: dict[str, bool] = {label: code == "1" for code, label in tables["yesno"].codes}
        yesno.update({code: code == "1" for code, _label in tables["yesno"].codes})
        yesno.update(_YESNO_EXTRA)
        self._yesno = yesno
        # YYYYMMDD -> date for every real date seen: birth dates, the ID numbers' birth
        # dates and validity dates repeat across a school's rows.
        self._days: dict[str, dt.date] = {}
        self._class_info: dict[str, _ClassInfo] = {}

        # Per column, in template order. `fasts[i]` maps a raw cell text straight to its
        # final value: a code table's lookup, the yes/no table, or the memo of earlier
        # results. `validate` looks every cell up there with C-level map() calls and runs
        # Python code only for the cells that miss (free text, names, ID numbers, phones,
        # empty cells, and anything needing normalisation or carrying an error).
        keys: list[str] = []
        fasts: list[dict[object, object]] = []
        cells: list[tuple[str, str, bool, Check, int]] = []
        for c in COLUMNS:
            check = self._make_check(c)
            fast: dict[object, object]
            if c.kind == "code":
                assert c.code_table is not None
                fast = dict(self._lookups[c.code_table])
            elif c.kind == "yesno":
                fast = dict(self._yesno)
            elif c.kind in _MEMO_KINDS or c.key == "grade":
                fast = {}
                check = _memoised(check, fast, shown=c.kind in _SHOWN_KINDS)
            else:
                fast = {}  # free text is cheap to check again
            # The ID number's requirement depends on the ID type: a row rule.
            required = c.required and c.kind != "id_number"
            if not required:
                # An empty optional cell is simply None: no Python code for it either.
                fast[None] = fast[""] = None
            keys.append(c.key)
            fasts.append(fast)
            # Free text is the most common miss: `validate` accepts it inline when it fits.
            text_limit = c.max_length if c.kind == "text" else 0
            shown = c.kind in _SHOWN_KINDS and c.key != "grade"
            cells.append((c.key, c.header, required, check, text_limit, shown))
        self._keys = tuple(keys)
        self._fasts = tuple(fasts)
        self._cells = tuple(cells)
        self._members = tuple(
            _MemberKeys(
                number=n,
                group=f"成员{n}",
                name=f"m{n}_name",
                relation=f"m{n}_relation",
                id_type=f"m{n}_id_type",
                id_number=f"m{n}_id_number",
                is_guardian=f"m{n}_is_guardian",
                id_type_header=BY_KEY[f"m{n}_id_type"].header,
                id_number_header=BY_KEY[f"m{n}_id_number"].header,
            )
            for n in (1, 2)
        )

    # -- shared look-ups -------------------------------------------------------------

    def _day(self, text: str) -> dt.date | None:
        """The date of 8 ASCII digits YYYYMMDD, or None when there is no such day."""
        day = self._days.get(text)
        if day is None:
            try:
                day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            except ValueError:
                return None
            if len(self._days) < _MEMO_LIMIT:
                self._days[text] = day
        return day

    def _class(self, class_no: str) -> _ClassInfo:
        info = self._class_info.get(class_no)
        if info is None:
            stage, entry_year = class_no[4], int(class_no[:4])
            low, high = _AGE_RANGE[stage]
            info = _ClassInfo(
                stage=stage,
                entry_year=entry_year,
                derived_grade=f"{_STAGE_BY_DIGIT[stage]}{entry_year}级",
                grade_ordinal=(stage, self._school_year - entry_year + 1),
                age_low=low,
                age_high=high,
            )
            self._class_info[class_no] = info
        return info

    # -- per-column checks, built once -----------------------------------------------

    def _make_check(self, col: Column) -> Check:
        if col.key == "grade":
            return self._check_grade(col)
        builder: Callable[[Column], Check] = getattr(self, f"_check_{col.kind}")
        return builder(col)

    def _check_text(self, col: Column) -> Check:
        header, limit = col.header, col.max_length

        def check(value: object) -> str:
            text = value if isinstance(value, str) else _cell_text(value)
            if len(text) > limit:
                raise _Invalid(
                    "max_length",
                    MSG_MAX_LENGTH.format(header=header, limit=limit, length=len(text)),
                )
            return text

        return check

    def _check_name(self, col: Column) -> Check:
        header, limit = col.header, col.max_length
        fullmatch = _NAME_RE.fullmatch

        def check(value: object) -> str:
            text = value if isinstance(value, str) else _cell_text(value)
            if fullmatch(text) is None:
                text = text.translate(_NAME_TABLE)
                if len(text.split()) > 1:
                    raise _Invalid("name_space", MSG_NAME_SPACE.format(header=header))
                if fullmatch(text) is None:
                    raise _Invalid("name_chars", MSG_NAME_CHARS.format(header=header))
            if not _NAME_MIN <= len(text) <= limit:
                raise _Invalid(
                    "name_length",
                    MSG_NAME_LENGTH.format(
                        header=header, low=_NAME_MIN, high=limit, length=len(text)
                    ),
                )
            return text

        return check

    def _check_code(self, col: Column) -> Check:
        assert col.code_table is not None
        header = col.header
        get = self._lookups[col.code_table].get
        example_code, example_label = self._examples[col.code_table]
        ethnicity = col.code_table == "ethnicity"

        def check(value: object) -> str:
            text = _compact(value if isinstance(value, str) else _cell_text(value))
            code = get(text) or get(text.upper())
            if code is not None:
                return code
            # Every accepted ethnicity text ends in 族 except the 2-digit codes and the
            # labels of 97/98, which are all in the lookup: so a Chinese miss without 族
            # is the "汉 instead of 汉族" mistake the seed warns about (SEED L693).
            if ethnicity and not text.isascii() and not text.endswith("族"):
                example = text + "族" if get(text + "族") else "汉族"
                raise _Invalid(
                    "ethnicity_suffix", MSG_ETHNICITY_SUFFIX.format(header=header, example=example)
                )
            raise _Invalid(
                "code_unknown",
                MSG_CODE_UNKNOWN.format(
                    header=header, value=text, code=example_code, label=example_label
                ),
            )

        return check

    def _check_yesno(self, col: Column) -> Check:
        header, get = col.header, self._yesno.get

        def check(value: object) -> bool:
            if isinstance(value, bool):
                return value
            text = _compact(value if isinstance(value, str) else _cell_text(value))
            answer = get(text)
            if answer is None:
                answer = get(text.lower())
            if answer is None:
                raise _Invalid("yesno", MSG_YESNO.format(header=header))
            return answer

        return check

    def _check_date8(self, col: Column) -> Check:
        header, today = col.header, self.today

        def check(value: object) -> dt.date:
            if isinstance(value, dt.datetime):
                day = value.date()
            elif isinstance(value, dt.date):
                day = value
            else:
                if isinstance(value, float) and not value.is_integer():
                    raise _Invalid("date_invalid", MSG_DATE_FORMAT.format(header=header))
                text = value.strip() if isinstance(value, str) else _cell_text(value)
                if not text.isascii():
                    text = unicodedata.normalize("NFKC", text).strip()
                timed = _DATE_TIME_RE.fullmatch(text)
                if timed is not None:
                    text = timed[1]
                text = _compact(text)
                parts = _parse_date_text(text)
                if parts is None:
                    parts = _date_serial(text) or _date_refused(header, text)
                try:
                    day = dt.date(*parts)
                except ValueError:
                    raise _Invalid(
                        "date_invalid", MSG_DATE_INVALID.format(header=header, value=text)
                    ) from None
            if day > today:
                message = MSG_DATE_FUTURE.format(header=header, value=_ymd(day))
                raise _Invalid("date_future", message)
            return day

        return check

    def _check_ym6(self, col: Column) -> Check:
        header, today_ym = col.header, self._today_ym

        def check(value: object) -> str:
            if isinstance(value, dt.date):
                text = f"{value.year:04d}{value.month:02d}"
            elif isinstance(value, float) and not value.is_integer():
                # 2024.10 arrives as the float 2024.1: the month cannot be told apart.
                raise _Invalid("entry_ym", MSG_YM_FORMAT.format(header=header))
            else:
                text = _compact(value if isinstance(value, str) else _cell_text(value))
                if not (len(text) == 6 and text.isdigit() and text.isascii()):
                    match = _YM_SEP_RE.fullmatch(text)
                    if match is None:
                        raise _Invalid("entry_ym", MSG_YM_FORMAT.format(header=header))
                    text = f"{match[1]}{int(match[2]):02d}"
            if not 1 <= int(text[4:]) <= 12:
                raise _Invalid("entry_ym", MSG_YM_MONTH.format(header=header, value=text))
            if text > today_ym:
                raise _Invalid("entry_ym", MSG_YM_FUTURE.format(header=header, value=text))
            return text

        return check

    def _check_region12(self, col: Column) -> Check:
        header = col.header

        def check(value: object) -> str:
            text = value if isinstance(value, str) else _cell_text(value)
            # The region validator owns the rules and their messages; only the header is
            # added, so the message says which of the three region columns is wrong.
            try:
                return region_validators.validate_region_code(text)
            except ValidationError as exc:
                raise _Invalid(
                    exc.code or "region_format",
                    MSG_REGION.format(header=header, message=exc.messages[0]),
                ) from None

        return check

    def _check_id_number(self, col: Column) -> Check:
        """Normalisation only: the rules depend on the ID type (see `_student_rules`)."""
        header = col.header

        def check(value: object) -> str:
            # An 18-digit number has more digits than a float holds (15 significant), so a
            # numeric cell has already lost the last ones: telling the user to fix the
            # column's format beats a confusing check-character error.
            if isinstance(value, float) or (isinstance(value, int) and abs(value) >= 10**15):
                raise _Invalid("id_number_as_number", MSG_ID_AS_NUMBER.format(header=header))
            text = _compact(value if isinstance(value, str) else _cell_text(value)).upper()
            if "E" in text and _SCIENTIFIC_RE.fullmatch(text):
                raise _Invalid("id_number_as_number", MSG_ID_AS_NUMBER.format(header=header))
            return text

        return check

    def _check_class_no(self, col: Column) -> Check:
        header, class_nos = col.header, self.class_nos
        high = self.today.year + 1

        def check(value: object) -> str:
            code = _compact(value if isinstance(value, str) else _cell_text(value))
            if (
                not (len(code) == 7 and code.isdigit() and code.isascii())
                or code[4] not in "123"
                or code.endswith("00")
            ):
                raise _Invalid("class_no", MSG_CLASS_FORMAT.format(header=header))
            if not 1990 <= int(code[:4]) <= high:
                raise _Invalid(
                    "class_no", MSG_CLASS_YEAR.format(header=header, value=code, high=high)
                )
            if class_nos is not None and code not in class_nos:
                raise _Invalid("class_unknown", MSG_CLASS_UNKNOWN.format(header=header, value=code))
            return code

        return check

    def _check_grade(self, col: Column) -> Check:
        """Recognises the grade's spelling; agreement with the class is a row rule."""
        header = col.header

        def check(value: object) -> str:
            text = _compact(value if isinstance(value, str) else _cell_text(value))
            if text not in _GRADE_ORDINALS and _DERIVED_GRADE_RE.fullmatch(text) is None:
                raise _Invalid("grade", MSG_GRADE_FORMAT.format(header=header, value=text))
            return text

        return check

    def _check_phone(self, col: Column) -> Check:
        header, fullmatch = col.header, _PHONE_RE.fullmatch

        def check(value: object) -> str:
            text = _compact(value if isinstance(value, str) else _cell_text(value))
            if fullmatch(text) is None:
                raise _Invalid("phone", MSG_PHONE.format(header=header, value=text))
            return text

        return check

    def _check_postcode(self, col: Column) -> Check:
        header = col.header

        def check(value: object) -> str:
            text = _compact(value if isinstance(value, str) else _cell_text(value))
            if not (len(text) == 6 and text.isdigit() and text.isascii()):
                raise _Invalid("postcode", MSG_POSTCODE.format(header=header))
            return text

        return check

    def _check_email(self, col: Column) -> Check:
        header, limit = col.header, col.max_length

        def check(value: object) -> str:
            text = unicodedata.normalize("NFKC", _cell_text(value))
            if len(text) > limit or _EMAIL_RE.fullmatch(text) is None:
                raise _Invalid("email", MSG_EMAIL.format(header=header, value=text))
            return text

        return check

    def _check_int(self, col: Column) -> Check:
        header = col.header
        message = MSG_INT.format(header=header, high=_INT_MAX)

        def check(value: object) -> int:
            if isinstance(value, float) and not value.is_integer():
                raise _Invalid("int", message)
            text = _compact(value if isinstance(value, str) else _cell_text(value))
            if not (text.isdigit() and text.isascii() and 1 <= int(text) <= _INT_MAX):
                raise _Invalid("int", message)
            return int(text)

        return check

    def _check_decimal(self, col: Column) -> Check:
        header = col.header

        def check(value: object) -> Decimal:
            text = _compact(_cell_text(value))
            for suffix in _DISTANCE_SUFFIXES:
                if text.endswith(suffix):
                    text = text[: -len(suffix)]
                    break
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise _Invalid("decimal", MSG_DECIMAL.format(header=header)) from None
            if not (number.is_finite() and 0 <= number <= _DISTANCE_MAX):
                raise _Invalid("decimal", MSG_DECIMAL.format(header=header))
            return number.quantize(_CENT, rounding=ROUND_HALF_UP)

        return check

    def _check_id_validity(self, col: Column) -> Check:
        header, day_of = col.header, self._day
        message = MSG_ID_VALIDITY.format(header=header)
        order_message = MSG_ID_VALIDITY_ORDER.format(header=header)

        def check(value: object) -> str:
            text = _compact(value if isinstance(value, str) else _cell_text(value))
            if len(text) == 17 and text[8] == "-" and text.isascii():
                # The usual YYYYMMDD-YYYYMMDD: already in its stored form.
                first, last = text[:8], text[9:]
                if first.isdigit() and last.isdigit():
                    start, end = day_of(first), day_of(last)
                    if start is None or end is None:
                        raise _Invalid("id_validity", message)
                    if start >= end:
                        raise _Invalid("id_validity", order_message)
                    return text
            match = _VALIDITY_RE.fullmatch(text)
            if match is None:
                raise _Invalid("id_validity", message)
            first, last = match[1], match[2]
            days: list[dt.date] = []
            for part in (first, last):
                parts = _parse_date_text(part)
                day = (
                    None if parts is None else day_of(f"{parts[0]:04d}{parts[1]:02d}{parts[2]:02d}")
                )
                if day is None:
                    raise _Invalid("id_validity", message)
                days.append(day)
            if days[0] >= days[1]:
                raise _Invalid("id_validity", order_message)
            return f"{_ymd(days[0])}-{_ymd(days[1])}"

        return check

    # -- the row -------------------------------------------------------------------------

    def validate(self, raw: Mapping[str, object]) -> RowResult:
        """Check one row. `raw` maps Column.key to the cell (str, int, float, date or
        None); missing keys are empty cells. Returns every error of the row."""
        keys = self._keys
        values = list(map(raw.get, keys))
        # Cells whose raw value is a known good one resolve here without a Python call;
        # the rest come back as _MISS and are checked one by one below.
        try:
            hits = list(map(dict.get, self._fasts, values, repeat(_MISS)))
        except TypeError:  # an unhashable cell (a list or object from JSON): read as text
            values = [v if isinstance(v, Hashable) else str(v) for v in values]
            hits = list(map(dict.get, self._fasts, values, repeat(_MISS)))
        data: dict[str, object] = dict(zip(keys, hits, strict=True))
        errors: list[FieldError] = []
        normalised: list[Normalised] = []
        bad: set[str] = set()
        misses = compress(zip(self._cells, values, strict=True), map(is_, hits, repeat(_MISS)))
        for (key, header, required, check, text_limit, shown), given in misses:
            value = given
            if type(value) is str:
                value = value.strip() or None
            elif isinstance(value, str):  # a subclass (e.g. SafeString): plain text
                value = str(value).strip() or None
            elif _is_empty_number(value):
                value = None
            if value is None:
                data[key] = None
                if required:
                    bad.add(key)
                    errors.append(
                        FieldError(key, header, "", MSG_REQUIRED.format(header=header), "required")
                    )
                continue
            if text_limit and type(value) is str and len(value) <= text_limit:
                data[key] = value
                if value is not given and value != given:
                    normalised.append(Normalised(key, header, str(given), value))
                continue
            try:
                data[key] = checked = check(value)
            except _Invalid as exc:
                data[key] = None
                bad.add(key)
                errors.append(FieldError(key, header, _shown(given), exc.message, exc.kind))
                continue
            if shown and isinstance(given, str) and (after := _stored_text(checked)) != given:
                normalised.append(Normalised(key, header, given, after))
        self._student_rules(raw, data, errors, bad)
        self._member_rules(raw, data, errors, bad)
        return RowResult(data, errors, normalised)

    def _resident_id(
        self,
        key: str,
        header: str,
        number: str,
        raw: Mapping[str, object],
        errors: list[FieldError],
    ) -> tuple[bool, dt.date | None]:
        """GB 11643 checks of a resident ID number.

        Returns (well formed, the birth date in positions 7–14, or None when it is not
        a real past date). Positions 1–6 are not checked: they may be a county code that
        no longer exists (domain.md §2.2), which is also why stdnum's validate() is not
        used."""
        problems, birth = resident_id_problems(
            number, header=header, today=self.today, day=self._day
        )
        for code, message in problems:
            errors.append(FieldError(key, header, _shown(raw.get(key)), message, code))
        return not (problems and problems[0][0] == "id_format"), birth

    @staticmethod
    def _other_id(
        key: str,
        header: str,
        number: str,
        raw: Mapping[str, object],
        errors: list[FieldError],
    ) -> None:
        if _ID_OTHER_RE.fullmatch(number) is None:
            message = MSG_ID_OTHER_FORMAT.format(header=header)
            errors.append(FieldError(key, header, _shown(raw.get(key)), message, "id_format"))

    def _student_rules(
        self,
        raw: Mapping[str, object],
        data: dict[str, object],
        errors: list[FieldError],
        bad: set[str],
    ) -> None:
        # -- ID number against its type, the birth date and the sex
        id_type, number = data["id_type"], data["id_number"]
        if number is None:
            if "id_number" not in bad and id_type != "Z":
                message = MSG_ID_REQUIRED.format(header="身份证件号")
                errors.append(FieldError("id_number", "身份证件号", "", message, "required"))
        elif isinstance(number, str):
            # With the type missing or wrong, an 18-character number is still most
            # likely a resident ID; checking it as one gives the useful errors.
            if id_type == "1" or (id_type is None and len(number) == 18):
                well_formed, id_birth = self._resident_id(
                    "id_number", "身份证件号", number, raw, errors
                )
                birth, sex = data["birth_date"], data["sex"]
                if id_birth is not None and isinstance(birth, dt.date) and id_birth != birth:
                    message = MSG_ID_BIRTH_MISMATCH.format(
                        header="身份证件号", in_id=_ymd(id_birth), given=_ymd(birth)
                    )
                    errors.append(
                        FieldError(
                            "id_number",
                            "身份证件号",
                            _shown(raw.get("id_number")),
                            message,
                            "id_birth_mismatch",
                        )
                    )
                if well_formed and (sex == "1" or sex == "2"):
                    message = id_sex_problem(number, sex, header="身份证件号")
                    if message:
                        errors.append(
                            FieldError(
                                "id_number",
                                "身份证件号",
                                _shown(raw.get("id_number")),
                                message,
                                "id_sex_mismatch",
                            )
                        )
            else:
                self._other_id("id_number", "身份证件号", number, raw, errors)

        # -- class, entry year-month, birth date and grade
        class_no, ym, birth = data["class_no"], data["entry_year_month"], data["birth_date"]
        info = (
            (self._class_info.get(class_no) or self._class(class_no))
            if isinstance(class_no, str)
            else None
        )
        if isinstance(ym, str):
            ym_year = int(ym[:4])
            if isinstance(birth, dt.date) and ym_year < birth.year + 3:
                message = MSG_YM_BEFORE_BIRTH.format(
                    header="入学年月", value=ym, year=birth.year + 3
                )
                errors.append(
                    FieldError(
                        "entry_year_month",
                        "入学年月",
                        _shown(raw.get("entry_year_month")),
                        message,
                        "entry_ym",
                    )
                )
            if info is not None and info.entry_year != ym_year:
                message = MSG_CLASS_ENTRY.format(class_no=class_no, header="入学年月", value=ym)
                errors.append(
                    FieldError(
                        "entry_year_month",
                        "入学年月",
                        _shown(raw.get("entry_year_month")),
                        message,
                        "class_entry_mismatch",
                    )
                )
            if info is not None and isinstance(birth, dt.date):
                month = int(ym[4:])
                age = ym_year - birth.year - ((month, 1) < (birth.month, birth.day))
                if not info.age_low <= age <= info.age_high:
                    message = MSG_AGE_RANGE.format(
                        header="出生日期",
                        ym=ym,
                        age=age,
                        stage=_STAGE_BY_DIGIT[info.stage],
                        low=info.age_low,
                        high=info.age_high,
                    )
                    errors.append(
                        FieldError(
                            "birth_date",
                            "出生日期",
                            _shown(raw.get("birth_date")),
                            message,
                            "age_range",
                        )
                    )
        grade = data["grade"]
        if info is not None and grade is None and "grade" not in bad:
            data["grade"] = info.derived_grade  # not asked for: the class gives it
        elif info is not None and isinstance(grade, str) and grade != info.derived_grade:
            if _GRADE_ORDINALS.get(grade) == info.grade_ordinal:
                data["grade"] = info.derived_grade
            else:
                index = info.grade_ordinal[1]
                names = _ORDINAL_NAMES[info.stage]
                now = (
                    f"，{self._school_year}–{self._school_year + 1}学年为“{names[index - 1]}”"
                    if 1 <= index <= len(names)
                    else ""
                )
                message = MSG_GRADE_MISMATCH.format(
                    header="年级",
                    value=grade,
                    class_no=class_no,
                    derived=info.derived_grade,
                    now=now,
                )
                errors.append(
                    FieldError("grade", "年级", _shown(raw.get("grade")), message, "grade")
                )

    def _member_rules(
        self,
        raw: Mapping[str, object],
        data: dict[str, object],
        errors: list[FieldError],
        bad: set[str],
    ) -> None:
        has_resident_id = False
        guardian_known = True
        has_guardian = False
        for m in self._members:
            if data[m.name] is None or data[m.relation] is None:
                missing = [
                    what
                    for what, key in (("姓名", m.name), ("关系", m.relation))
                    if data[key] is None and key not in bad
                ]
                if missing:
                    message = MSG_MEMBER_MISSING.format(header=m.group, missing="和".join(missing))
                    errors.append(
                        FieldError(f"member{m.number}", m.group, "", message, "member_missing")
                    )

            id_type, number = data[m.id_type], data[m.id_number]
            if isinstance(number, str):
                if id_type == "1" or (id_type is None and len(number) == 18):
                    before = len(errors)
                    self._resident_id(m.id_number, m.id_number_header, number, raw, errors)
                    has_resident_id = has_resident_id or len(errors) == before
                elif id_type is None:
                    if m.id_type not in bad:
                        message = MSG_MEMBER_ID_TYPE.format(header=m.id_type_header)
                        errors.append(
                            FieldError(m.id_type, m.id_type_header, "", message, "required")
                        )
                else:
                    self._other_id(m.id_number, m.id_number_header, number, raw, errors)

            if m.is_guardian in bad:
                guardian_known = False
            elif data[m.is_guardian] is True:
                has_guardian = True

        if data["id_type"] == "Z" and data["id_number"] is None and not has_resident_id:
            errors.append(
                FieldError("row", "家庭成员", "", MSG_MEMBER_ID_REQUIRED, "member_id_required")
            )
        if guardian_known and not has_guardian:
            errors.append(FieldError("row", "家庭成员", "", MSG_MEMBER_GUARDIAN, "member_guardian"))


def validate_student(
    raw: Mapping[str, object],
    *,
    today: dt.date | None = None,
    class_nos: Iterable[str] | None = None,
) -> RowResult:
    """One row, for single entry and the API; bulk callers keep one RowValidator."""
    return RowValidator(today=today, class_nos=class_nos).validate(raw)
