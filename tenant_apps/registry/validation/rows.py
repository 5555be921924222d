"""Every rule of domain.md §2 for one row of the national template, in one place.

Single entry, the API and the bulk importer all call `RowValidator.validate` with the
template's cells keyed by `fields.Column.key`. They get back the normalised, typed
values and every error of the row at once: the validator never stops at the first.

The importer checks 50,000 rows in one go. So `RowValidator.__init__` builds everything
that does not depend on the row: code lookups as plain dicts, the regexes, one check
function per column and the warm division-code cache. Successful results of the
repetitive cells (dates, division codes, class numbers) are memoised per validator,
because a school's rows repeat the same few townships, classes and birthdays.

Over 600 lines on purpose: `RowValidator` is one class whose per-column checks share the
caches its `__init__` builds; the messages, cell helpers and identifier rules it uses live
beside it (validation.messages, .cells, .identifiers).

Error kinds (`FieldError.kind`):
    required, max_length, code_unknown, ethnicity_suffix, yesno,
    name_space, name_chars, name_length,
    id_number_as_number, id_format, id_birth_invalid, id_check_digit,
    id_birth_mismatch, id_sex_mismatch,
    date_invalid, date_future, age_range, entry_ym, class_entry_mismatch,
    class_no, class_unknown, grade,
    region_format, region_unknown, region_village, region_former (the region validator's
    codes),
    phone, postcode, email, int, decimal, id_validity,
    member_missing, member_id_required, member_guardian.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import compress, repeat
from operator import is_

from django.core.exceptions import ValidationError
from django.utils import timezone

from shared_apps.regions import validators as region_validators
from tenant_apps.registry.codes import code_tables
from tenant_apps.registry.fields import BY_KEY, COLUMNS, Column
from tenant_apps.registry.validation.cells import (
    _AGE_RANGE,
    _CENT,
    _DATE_TIME_RE,
    _DERIVED_GRADE_RE,
    _DISTANCE_MAX,
    _DISTANCE_SUFFIXES,
    _EMAIL_RE,
    _GRADE_ORDINALS,
    _ID_OTHER_RE,
    _INT_MAX,
    _MEMO_KINDS,
    _MEMO_LIMIT,
    _MISS,
    _NAME_MIN,
    _NAME_RE,
    _NAME_TABLE,
    _ORDINAL_NAMES,
    _PHONE_RE,
    _SCIENTIFIC_RE,
    _SHOWN_KINDS,
    _STAGE_BY_DIGIT,
    _VALIDITY_RE,
    _YESNO_EXTRA,
    _YM_SEP_RE,
    Check,
    _cell_text,
    _compact,
    _date_refused,
    _date_serial,
    _Invalid,
    _is_empty_number,
    _lookup_dict,
    _memoised,
    _parse_date_text,
    _shown,
    _stored_text,
    _ymd,
)
from tenant_apps.registry.validation.identifiers import id_sex_problem, resident_id_problems
from tenant_apps.registry.validation.messages import (
    MSG_AGE_RANGE,
    MSG_CLASS_ENTRY,
    MSG_CLASS_FORMAT,
    MSG_CLASS_UNKNOWN,
    MSG_CLASS_YEAR,
    MSG_CODE_UNKNOWN,
    MSG_DATE_FORMAT,
    MSG_DATE_FUTURE,
    MSG_DATE_INVALID,
    MSG_DECIMAL,
    MSG_EMAIL,
    MSG_ETHNICITY_SUFFIX,
    MSG_GRADE_FORMAT,
    MSG_GRADE_MISMATCH,
    MSG_ID_AS_NUMBER,
    MSG_ID_BIRTH_MISMATCH,
    MSG_ID_OTHER_FORMAT,
    MSG_ID_REQUIRED,
    MSG_ID_VALIDITY,
    MSG_ID_VALIDITY_ORDER,
    MSG_INT,
    MSG_MAX_LENGTH,
    MSG_MEMBER_GUARDIAN,
    MSG_MEMBER_ID_REQUIRED,
    MSG_MEMBER_ID_TYPE,
    MSG_MEMBER_MISSING,
    MSG_NAME_CHARS,
    MSG_NAME_LENGTH,
    MSG_NAME_SPACE,
    MSG_PHONE,
    MSG_POSTCODE,
    MSG_REGION,
    MSG_REQUIRED,
    MSG_YESNO,
    MSG_YM_BEFORE_BIRTH,
    MSG_YM_FORMAT,
    MSG_YM_FUTURE,
    MSG_YM_MONTH,
)

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


class RowValidator:
    """Checks rows of the national template. Build one per import job or request (it
    binds `today` and the school's class numbers) and call `validate` for each row.

    `record_date` is the date of the existing record being edited (its 入学年月, see
    students.services.record_date), None for new records: with it, a division code that
    was abolished after that date is still accepted (regions.validators, domain.md §2.2).
    """

    def __init__(
        self,
        *,
        today: dt.date | None = None,
        class_nos: Iterable[str] | None = None,
        record_date: dt.date | None = None,
    ) -> None:
        self.today = today if today is not None else timezone.localdate()
        self.class_nos = frozenset(class_nos) if class_nos is not None else None
        self.record_date = record_date
        # New pupils are registered over the summer for the September intake, so an entry
        # month up to three months ahead is accepted; later ones are typing mistakes.
        ahead = self.today.month + 3
        year, month = self.today.year + (ahead - 1) // 12, (ahead - 1) % 12 + 1
        self._today_ym = f"{year:04d}{month:02d}"
        # A school year starts on 1 September; grade ordinals are relative to it.
        self._school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        # Loads the division code sets into the region validator's process-wide cache now,
        # so the first row does not pay for the queries.
        region_validators._known_codes()
        region_validators._former_codes()
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
                fast = dict(self._lookups[c.code_table])  # type: ignore[assignment]
            elif c.kind == "yesno":
                fast = dict(self._yesno)  # type: ignore[assignment]
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
            cells.append((c.key, c.header, required, check, text_limit, shown))  # type: ignore[arg-type]
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
        # The memo of successes is per validator, so one bound to a record's date may keep
        # a former code it accepted for that record.
        header, on = col.header, self.record_date

        def check(value: object) -> str:
            text = value if isinstance(value, str) else _cell_text(value)
            # The region validator owns the rules and their messages; only the header is
            # added, so the message says which of the three region columns is wrong.
            try:
                return region_validators.validate_region_code(text, on=on)
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
        for (key, header, required, check, text_limit, shown), given in misses:  # type: ignore[misc]
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
    record_date: dt.date | None = None,
) -> RowResult:
    """One row, for single entry and the API; bulk callers keep one RowValidator."""
    return RowValidator(today=today, class_nos=class_nos, record_date=record_date).validate(raw)
