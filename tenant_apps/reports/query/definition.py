"""综合查询: what may be asked and how a definition is read and checked.

A definition is plain JSON (saved queries, the API) or the builder's GET parameters (the
page round-trips without JavaScript); both become one `Definition` through `parse`, which
refuses any unknown field, operator, column or value with a Chinese message naming the
field. Nothing typed ever reaches SQL but as an ORM lookup value.

Fields (`FIELDS`, keyed as the builder sends them):

* ``s.<key>``: every student column of the national template (registry.fields), with its
  header as label and its kind deciding operators and widget;
* ``m.<key>``: a family-member column, matched when any member matches;
* ``line``: the line the record is counted on (registry.counts: 在读, 毕业, 转出 … and the
  unregistered states): the archives are the registered records whose status left 在读;
* ``history``: an effective 学籍异动 of the chosen kinds between two dates;
* ``marks``: a mark of one course (and optionally one term) at or above / below a level,
  or with a score in a range.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from tenant_apps.registry import counts
from tenant_apps.registry.codes import code_tables
from tenant_apps.registry.fields import MEMBER_COLUMNS, STUDENT_COLUMNS, Column
from tenant_apps.registry.models import StatusChange

Widget = Literal["code", "date", "yesno", "text", "secret", "number", "history", "marks"]

OPS: dict[Widget, tuple[tuple[str, str], ...]] = {
    "code": (("in", "是其中之一"), ("not_in", "不是其中任何一个"), ("empty", "为空")),
    "date": (("between", "介于"), ("empty", "为空")),
    "yesno": (("is", "是/否"), ("empty", "未填写")),
    "text": (("contains", "包含"), ("equals", "等于"), ("empty", "为空")),
    # ID numbers and phones are masked in every list: they can be matched whole, never
    # probed digit by digit with "contains" (the student list's search does the same).
    "secret": (("equals", "等于"), ("empty", "为空")),
    "number": (("between", "介于"), ("empty", "为空")),
    "history": (("between", "异动日期介于"),),
    "marks": (
        ("level_gte", "等级不低于"),
        ("level_lte", "等级不高于"),
        ("level_eq", "等级等于"),
        ("score_between", "分数介于"),
    ),
}
LEVELS = ((4, "优秀"), (3, "良好"), (2, "合格"), (1, "不合格"))
YESNO = (("1", "是"), ("0", "否"))
MAX_CONDITIONS = 20
MAX_VALUE = 100
TERM_RE = re.compile(r"^(\d{4})-(\d{4})-([12])$")  # 2025-2026-1: school year and term

MSG_UNKNOWN_FIELD = "第{n}个条件的字段无法识别（链接可能已损坏），查询未执行。"
MSG_UNKNOWN_OP = "条件“{label}”不支持所选的比较方式。"
MSG_NO_VALUE = "条件“{label}”请填写或选择取值。"
MSG_BAD_CODE = "条件“{label}”的取值不在可选范围内。"
MSG_BAD_DATE = "条件“{label}”的日期应为“年-月-日”，如 2018-03-01。"
MSG_DATE_ORDER = "条件“{label}”的起始日期晚于截止日期。"
MSG_BAD_NUMBER = "条件“{label}”的取值应为数字。"
MSG_NUMBER_ORDER = "条件“{label}”的下限大于上限。"
MSG_TOO_LONG = "条件“{label}”的取值过长（最多100个字）。"
MSG_NO_COURSE = "条件“{label}”请选择课程。"
MSG_BAD_TERM = "条件“{label}”的学期无法识别。"
MSG_SCORE_RANGE = "条件“{label}”的分数应在0到100之间。"
MSG_TOO_MANY = "条件最多{n}个。"
MSG_UNKNOWN_COLUMN = "所选的列中有无法识别的列（链接可能已损坏），查询未执行。"
MSG_UNKNOWN_SORT = "排序列无法识别，查询未执行。"
MSG_NO_COLUMNS = "请至少选择一列。"


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    widget: Widget
    path: str = ""  # the ORM path on Student (or FamilyMember for m.*)
    column: Column | None = None
    choices: tuple[tuple[str, str], ...] = ()  # static choices (code tables, lines …)
    dynamic: str = ""  # "class", "grade", "course": choices read from the school's data

    @property
    def ops(self) -> tuple[tuple[str, str], ...]:
        return OPS[self.widget]

    @property
    def group(self) -> str:
        if self.key.startswith("m."):
            return "家庭成员（任一成员）"
        if self.key in ("line", "history", "marks"):
            return "学籍状态、异动与成绩"
        return "学生信息"


def _widget(col: Column) -> Widget:
    if col.kind == "code":
        return "code"
    if col.kind == "date8":
        return "date"
    if col.kind == "yesno":
        return "yesno"
    if col.kind in ("int", "decimal"):
        return "number"
    if col.kind in ("id_number", "phone"):
        return "secret"
    return "text"


def _choices(col: Column) -> tuple[tuple[str, str], ...]:
    if col.code_table:
        return tuple(code_tables()[col.code_table].codes)
    return ()


def _student_field(col: Column) -> Field:
    if col.key == "class_no":
        return Field("s.class_no", col.header, "code", "school_class_id", col, dynamic="class")
    if col.key == "grade":
        return Field("s.grade", col.header, "code", "school_class", col, dynamic="grade")
    return Field(f"s.{col.key}", col.header, _widget(col), col.key, col, _choices(col))


def _member_field(col: Column) -> Field:
    name = col.key.removeprefix("m1_")
    label = "成员" + col.header.removeprefix("成员1")
    return Field(f"m.{name}", label, _widget(col), name, col, _choices(col))


def _build_fields() -> dict[str, Field]:
    fields = [_student_field(c) for c in STUDENT_COLUMNS]
    fields += [_member_field(c) for c in MEMBER_COLUMNS["member1"]]
    lines = tuple((line.key, line.label) for line in counts.status_lines())
    fields.append(Field("line", "学籍状态（含毕业、转出等档案）", "code", choices=lines))
    fields.append(
        Field("history", "学籍异动（已生效）", "history", choices=tuple(StatusChange.Kind.choices))
    )
    fields.append(Field("marks", "成绩", "marks", dynamic="course"))
    return {f.key: f for f in fields}


FIELDS: dict[str, Field] = _build_fields()


# -- result columns ----------------------------------------------------------------------


@dataclass(frozen=True)
class ResultColumn:
    key: str
    label: str
    kind: str  # the registry.fields kind ("" for the extras)
    code_table: str | None = None
    sort_path: str = ""  # empty: not sortable (family members)


def _build_columns() -> dict[str, ResultColumn]:
    cols: list[ResultColumn] = []
    for c in STUDENT_COLUMNS:
        sort = {"class_no": "school_class__class_no", "grade": "school_class__entry_year"}.get(
            c.key, c.key
        )
        cols.append(ResultColumn(c.key, c.header, c.kind, c.code_table, sort))
        if c.key == "name":
            cols.append(ResultColumn("national_number", "全国学籍号", "", None, "national_number"))
    cols.append(ResultColumn("line", "学籍状态", "", None, "status"))
    for group in ("member1", "member2"):
        cols += [ResultColumn(c.key, c.header, c.kind, c.code_table) for c in MEMBER_COLUMNS[group]]
    return {c.key: c for c in cols}


COLUMNS: dict[str, ResultColumn] = _build_columns()
DEFAULT_COLUMNS = ("name", "sex", "birth_date", "class_no", "line")


# -- the definition ----------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[str, ...] = ()  # picked codes, a yes/no, a text, a level
    low: str = ""  # between: dates or numbers
    high: str = ""
    course: str = ""  # marks: course code
    term: str = ""  # marks: "2025-2026-1" or "" for any term

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "op": self.op}
        for name in ("values", "low", "high", "course", "term"):
            value = getattr(self, name)
            if value:
                data[name] = list(value) if name == "values" else value
        return data


@dataclass(frozen=True)
class Definition:
    conditions: tuple[Condition, ...] = ()
    match: Literal["all", "any"] = "all"
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    sort: str = ""
    desc: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "conditions": [c.as_json() for c in self.conditions],
            "match": self.match,
            "columns": list(self.columns),
            "sort": self.sort,
            "desc": self.desc,
        }

    def as_params(self) -> list[tuple[str, str]]:
        """The builder's GET parameters for this definition (a saved query opens as a
        link to the builder)."""
        params: list[tuple[str, str]] = []
        for i, c in enumerate(self.conditions):
            params += [(f"f{i}", c.field), (f"o{i}", c.op)]
            params += [(f"v{i}", v) for v in c.values]
            for prefix, value in (("lo", c.low), ("hi", c.high), ("c", c.course), ("t", c.term)):
                if value:
                    params.append((f"{prefix}{i}", value))
        params.append(("match", self.match))
        params += [("col", c) for c in self.columns]
        if self.sort:
            params += [("sort", self.sort), ("dir", "desc" if self.desc else "asc")]
        return params


@dataclass
class Choices:
    """The school's own choices of the dynamic fields, read once per request."""

    classes: dict[str, str] = field(default_factory=dict)  # class pk -> name
    grades: dict[str, str] = field(default_factory=dict)  # "primary:2024" -> 小学2024级
    courses: dict[str, str] = field(default_factory=dict)  # course code -> name
    course_ids: dict[str, int] = field(default_factory=dict)  # course code -> pk
    terms: dict[str, str] = field(default_factory=dict)  # "2025-2026-1" -> label

    def of(self, f: Field) -> tuple[tuple[str, str], ...]:
        if f.dynamic == "class":
            return tuple(self.classes.items())
        if f.dynamic == "grade":
            return tuple(self.grades.items())
        if f.dynamic == "course":
            return tuple(self.courses.items())
        return f.choices


class DefinitionError(Exception):
    """A definition refused: `messages` are for the user, in Chinese."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("；".join(messages))
        self.messages = messages


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _number(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _check_range(c: Condition, f: Field, errors: list[str], *, dates: bool) -> None:
    if not c.low and not c.high:
        errors.append(MSG_NO_VALUE.format(label=f.label))
        return
    read = _date if dates else _number
    low = read(c.low) if c.low else None
    high = read(c.high) if c.high else None
    if (c.low and low is None) or (c.high and high is None):
        errors.append((MSG_BAD_DATE if dates else MSG_BAD_NUMBER).format(label=f.label))
    elif low is not None and high is not None and low > high:  # type: ignore[operator]
        errors.append((MSG_DATE_ORDER if dates else MSG_NUMBER_ORDER).format(label=f.label))


def _check(c: Condition, f: Field, choices: Choices, errors: list[str]) -> None:
    label = f.label
    if c.op not in dict(f.ops):
        errors.append(MSG_UNKNOWN_OP.format(label=label))
        return
    if any(len(v) > MAX_VALUE for v in (*c.values, c.low, c.high, c.course, c.term)):
        errors.append(MSG_TOO_LONG.format(label=label))
        return
    if c.op == "empty":
        return
    if f.widget in ("code", "history"):
        if f.widget == "code" and not c.values:
            errors.append(MSG_NO_VALUE.format(label=label))
        elif not set(c.values) <= {k for k, _ in choices.of(f)}:
            errors.append(MSG_BAD_CODE.format(label=label))
        if f.widget == "history":
            _check_range(c, f, errors, dates=True)
    elif f.widget == "yesno":
        if len(c.values) != 1 or c.values[0] not in ("1", "0"):
            errors.append(MSG_NO_VALUE.format(label=label))
    elif f.widget in ("text", "secret"):
        if len(c.values) != 1 or not c.values[0].strip():
            errors.append(MSG_NO_VALUE.format(label=label))
    elif f.widget in ("date", "number"):
        _check_range(c, f, errors, dates=f.widget == "date")
    elif f.widget == "marks":
        if not c.course:
            errors.append(MSG_NO_COURSE.format(label=label))
        elif c.course not in choices.courses:
            errors.append(MSG_BAD_CODE.format(label=label))
        if c.term and not TERM_RE.match(c.term):
            errors.append(MSG_BAD_TERM.format(label=label))
        if c.op == "score_between":
            before = len(errors)
            _check_range(c, f, errors, dates=False)
            if len(errors) == before and any(
                (n := _number(v)) is not None and not 0 <= n <= 100 for v in (c.low, c.high) if v
            ):
                errors.append(MSG_SCORE_RANGE.format(label=label))
        elif len(c.values) != 1 or c.values[0] not in {str(n) for n, _ in LEVELS}:
            errors.append(MSG_NO_VALUE.format(label=label))


def validate(definition: Definition, choices: Choices) -> Definition:
    """The definition if every part of it is known and well-formed; DefinitionError
    with every problem otherwise."""
    errors: list[str] = []
    if len(definition.conditions) > MAX_CONDITIONS:
        errors.append(MSG_TOO_MANY.format(n=MAX_CONDITIONS))
    for n, c in enumerate(definition.conditions, start=1):
        f = FIELDS.get(c.field)
        if f is None:
            errors.append(MSG_UNKNOWN_FIELD.format(n=n))
            continue
        _check(c, f, choices, errors)
    if not definition.columns:
        errors.append(MSG_NO_COLUMNS)
    elif not set(definition.columns) <= set(COLUMNS):
        errors.append(MSG_UNKNOWN_COLUMN)
    if definition.sort and (
        definition.sort not in COLUMNS or not COLUMNS[definition.sort].sort_path
    ):
        errors.append(MSG_UNKNOWN_SORT)
    if errors:
        raise DefinitionError(errors)
    return definition


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return ()


def from_json(data: Any) -> Definition:
    """A definition from its JSON form (saved queries, the API). Shape errors are
    refused like unknown fields, never raised as anything but DefinitionError."""
    if not isinstance(data, Mapping):
        raise DefinitionError(["查询定义的格式无法识别。"])
    raw_conditions = data.get("conditions", [])
    if not isinstance(raw_conditions, list):
        raise DefinitionError(["查询定义的格式无法识别。"])
    conditions = []
    for n, raw in enumerate(raw_conditions, start=1):
        if not isinstance(raw, Mapping):
            raise DefinitionError([MSG_UNKNOWN_FIELD.format(n=n)])
        conditions.append(
            Condition(
                field=str(raw.get("field", "")),
                op=str(raw.get("op", "")),
                values=_strs(raw.get("values", ())),
                low=str(raw.get("low", "") or ""),
                high=str(raw.get("high", "") or ""),
                course=str(raw.get("course", "") or ""),
                term=str(raw.get("term", "") or ""),
            )
        )
    columns = _strs(data.get("columns", DEFAULT_COLUMNS))
    return Definition(
        conditions=tuple(conditions),
        match="any" if data.get("match") == "any" else "all",
        columns=columns,
        sort=str(data.get("sort", "") or ""),
        desc=bool(data.get("desc", False)),
    )


def from_params(params: Any) -> Definition:
    """A definition from the builder's GET parameters (a QueryDict): conditions f0, f1 …
    with o<i> (operator), v<i> (values, repeated), lo<i>/hi<i> (range), c<i> (course),
    t<i> (term); `col` (repeated), `match`, `sort`, `dir`. A row ticked for removal
    (`x<i>`) is dropped; `add` appends an empty condition of that field."""
    indexes = sorted(
        {int(k[1:]) for k in params if k.startswith("f") and k[1:].isdigit() and len(k) < 5}
    )
    conditions = []
    for i in indexes:
        if params.get(f"x{i}"):
            continue
        key = params.get(f"f{i}", "")
        f = FIELDS.get(key)
        op = params.get(f"o{i}", "") or (f.ops[0][0] if f is not None else "")
        conditions.append(
            Condition(
                field=key,
                op=op,
                values=tuple(v for v in params.getlist(f"v{i}") if v != ""),
                low=params.get(f"lo{i}", "").strip(),
                high=params.get(f"hi{i}", "").strip(),
                course=params.get(f"c{i}", ""),
                term=params.get(f"t{i}", ""),
            )
        )
    added = params.get("add", "")
    if added:
        f = FIELDS.get(added)
        conditions.append(Condition(field=added, op=f.ops[0][0] if f is not None else ""))
    columns = tuple(params.getlist("col")) or DEFAULT_COLUMNS
    return Definition(
        conditions=tuple(conditions),
        match="any" if params.get("match") == "any" else "all",
        columns=columns,
        sort=params.get("sort", ""),
        desc=params.get("dir") == "desc",
    )


def is_empty_condition(c: Condition) -> bool:
    """A row just added with nothing filled in yet: shown, not yet checked or run."""
    return not (c.values or c.low or c.high or c.course or c.term) and c.op != "empty"


def level_label(value: int) -> str:
    return dict(LEVELS).get(value, "")
