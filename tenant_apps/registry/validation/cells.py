"""How the validator reads a cell: the constants and regexes of the template's formats,
normalising (full-width digits, spaces, dates as Excel and WPS store them), the memo of
repeated cells and the code look-ups. Private to the validation package."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal

from tenant_apps.registry.codes import CodeTable
from tenant_apps.registry.models import STAGE_DIGIT, STAGE_NAME
from tenant_apps.registry.validation.messages import (
    MSG_DATE_DAY_MONTH,
    MSG_DATE_FORMAT,
    MSG_DATE_SHORT_YEAR,
)


class _Invalid(Exception):
    """Raised by a column's check. Valid cells never raise, and since Python 3.11 a try
    block that does not raise costs nothing, so the fast path stays fast."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


Check = Callable[[object], object]


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
