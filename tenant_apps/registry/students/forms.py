"""Forms and display helpers of the registry pages.

The single-student form is generated from the national template's columns (fields.py),
so the form, the detail page, validation and the import template cannot drift apart.
Every input is a plain string; the services validate (all errors of a row at once).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from common.masking import MASKERS, mask_by_kind, mask_national_number
from tenant_apps.registry.codes import table
from tenant_apps.registry.fields import BY_KEY, COLUMNS, MEMBER_COLUMNS, STUDENT_COLUMNS, Column
from tenant_apps.registry.models import ImportBatch, SchoolClass, Student

# -- groups (shared by the form and the detail page) --------------------------------


@dataclass(frozen=True)
class Group:
    key: str
    label: str | Promise
    keys: tuple[str, ...]


_STUDENT_GROUPS: tuple[tuple[str, str | Promise, tuple[str, ...]], ...] = (
    (
        "basic",
        _("基本信息"),
        (
            "name",
            "sex",
            "birth_date",
            "name_pinyin",
            "former_name",
            "ethnicity",
            "nationality",
            "political",
            "health",
            "talents",
        ),
    ),
    (
        "identity",
        _("户籍与身份"),
        (
            "id_type",
            "id_number",
            "id_validity",
            "overseas",
            "birthplace",
            "native_place",
            "household_region",
            "household_type",
        ),
    ),
    (
        "school",
        _("学籍信息"),
        (
            "class_no",
            "grade",
            "number_in_class",
            "aux_number",
            "entry_year_month",
            "entry_mode",
            "attendance",
            "source",
        ),
    ),
    (
        "contact",
        _("联系方式"),
        (
            "current_address",
            "postal_address",
            "home_address",
            "phone",
            "postcode",
            "email",
            "homepage",
        ),
    ),
    ("other", _("其他信息"), ()),  # every student column not placed above
)


def _student_groups() -> tuple[Group, ...]:
    placed = {k for _key, _label, keys in _STUDENT_GROUPS for k in keys}
    rest = tuple(c.key for c in STUDENT_COLUMNS if c.key not in placed)
    return tuple(
        Group(key, label, keys + (rest if key == "other" else ()))
        for key, label, keys in _STUDENT_GROUPS
    )


STUDENT_GROUPS = _student_groups()
MEMBER_GROUPS = (
    Group("member1", _("家庭成员（成员1）"), tuple(c.key for c in MEMBER_COLUMNS["member1"])),
    Group("member2", _("家庭成员（成员2）"), tuple(c.key for c in MEMBER_COLUMNS["member2"])),
)
ALL_GROUPS = STUDENT_GROUPS + MEMBER_GROUPS

HELP: dict[str, str | Promise] = {
    "date8": _("8位数字 YYYYMMDD，如 20180301"),
    "ym6": _("6位数字 YYYYMM，如 202409"),
    "region12": _("12位行政区划代码（到村、社区），如 430181108201"),
    "id_number": _("居民身份证为18位，最后一位可为 X"),
    "phone": _("手机号或带区号的固定电话"),
    "postcode": _("6位数字"),
    "email": _("如 name@example.com"),
    "int": _("整数"),
    "decimal": _("公里，最多1位小数"),
    "id_validity": _("YYYYMMDD-YYYYMMDD，如 20200101-20300101"),
}
HELP_BY_KEY: dict[str, str | Promise] = {
    "grade": _("如“小学2024级”或“一年级”；留空时按所选班级填写"),
    "name_pinyin": _("大写或小写字母，可留空"),
}


def member_label(col: Column) -> str:
    """成员1姓名 -> 姓名: the fieldset already says which member."""
    return col.header.removeprefix(f"成员{col.group[-1]}")


# -- the single-student form ----------------------------------------------------------


def _choices(col: Column) -> list[tuple[str, str]]:
    blank: list[tuple[str, str]] = [("", "—")]
    if col.kind == "yesno":
        return blank + table("yesno").choices()
    assert col.code_table is not None
    return blank + table(col.code_table).choices()


CLASS_KEYS = frozenset({"class_no", "grade"})
MSG_CLASS_FIXED = _("已注册学生换班或换年级请办理学籍异动（调班、跳级、留级）。")
MSG_KEY_FIXED = _("学籍已注册，此项为关键数据：请在学生详情页申请“关键数据变更”。")


class StudentForm(forms.Form):
    """One input per template column. Nothing is required at form level: the services'
    validator reports every problem of the record at once, next to its field; the red *
    comes from the column (`field.template_required`). Fields in `locked` (not open to a
    class teacher, registry.policy.rules) are shown disabled and keep their initial value."""

    use_required_attribute = False

    def __init__(
        self,
        *args: Any,
        classes: Iterable[SchoolClass],
        locked: Collection[str] = (),
        class_fixed: bool = False,
        key_fixed: Collection[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        class_choices = [("", "—")] + [(c.class_no, f"{c.name}（{c.class_no}）") for c in classes]
        for col in COLUMNS:
            label = member_label(col) if col.group != "student" else col.header
            help_text = HELP_BY_KEY.get(col.key) or HELP.get(col.kind, "")
            field: forms.Field
            if col.key == "class_no":
                field = forms.CharField(
                    label=label, required=False, widget=forms.Select(choices=class_choices)
                )
            elif col.kind in ("code", "yesno"):
                field = forms.CharField(
                    label=label, required=False, widget=forms.Select(choices=_choices(col))
                )
            else:
                attrs = {"maxlength": str(_input_length(col))}
                if col.kind in ("date8", "ym6", "region12", "postcode", "int"):
                    attrs["inputmode"] = "numeric"
                field = forms.CharField(
                    label=label,
                    required=False,
                    strip=True,
                    widget=forms.TextInput(attrs=attrs),
                )
            field.help_text = help_text  # type: ignore[assignment]
            field.template_required = col.required  # type: ignore[attr-defined]
            field.disabled = col.key in locked
            if class_fixed and col.key in CLASS_KEYS:
                # A registered record changes class or grade only by an approved 学籍异动
                # (registry.students.services refuses it too).
                field.disabled = True
                field.help_text = MSG_CLASS_FIXED
            if col.key in key_fixed:
                # 姓名, 身份证件号 … of a registered record: only 关键数据变更 changes them
                # (registry.keydata; student_update refuses them too).
                field.disabled = True
                field.help_text = MSG_KEY_FIXED
            self.fields[col.key] = field
        self.locked = bool(locked)
        self.group_errors: dict[str, list[str]] = {}
        self.top_message = ""
        self.error_count = 0

    def raw(self) -> dict[str, str]:
        """The cleaned strings keyed by Column.key, as the services expect them."""
        data = {key: str(self.cleaned_data.get(key) or "").strip() for key in self.fields}
        return data

    def fieldsets(self) -> list[dict[str, Any]]:
        return [
            {
                "key": g.key,
                "label": g.label,
                "fields": [self[k] for k in g.keys],
                "errors": self.group_errors.get(g.key, []),
                "is_member": g.key.startswith("member"),
            }
            for g in ALL_GROUPS
        ]

    def apply_errors(self, extra: Mapping[str, Iterable[str]], message: str) -> None:
        """Put every message of ApplicationError.extra next to its field: a column key
        at its input, member1/member2 at the family fieldsets, anything else on top."""
        for key, messages in extra.items():
            for msg in messages:
                if key in self.fields:
                    self.add_error(key, msg)
                elif key in ("member1", "member2"):
                    self.group_errors.setdefault(key, []).append(msg)
                elif msg != message:
                    self.add_error(None, msg)
        self.top_message = message
        self.error_count = sum(len(v) for v in extra.values())  # type: ignore[arg-type,misc]


def _input_length(col: Column) -> int:
    return {
        "date8": 10,
        "ym6": 7,
        "region12": 12,
        "postcode": 6,
        "phone": 20,
        "id_validity": 17,
        "int": 4,
        "decimal": 6,
    }.get(col.kind, col.max_length)


# -- a student's values as template strings -------------------------------------------


def _as_text(col: Column, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if col.kind == "date8":
        return str(value).replace("-", "")
    return str(value)


def student_raw(student: Student, snapshot: Mapping[str, Any]) -> dict[str, str]:
    """The student's current record as the strings a user would type into the form:
    `snapshot` is services.student_snapshot(student); family comes from student.family."""
    values: dict[str, Any] = dict(snapshot)
    values["number_in_class"] = student.number_in_class
    values["aux_number"] = student.aux_number
    if student.school_class_id:
        values["grade"] = student.school_class.grade_name
    for member in student.family.all():
        for col in MEMBER_COLUMNS.get(f"member{member.slot}", ()):
            values[col.key] = getattr(member, col.key.split("_", 1)[1], None)
    return {c.key: _as_text(c, values.get(c.key)) for c in COLUMNS}


def display_value(col: Column, value: Any, *, reveal: bool = False) -> str:
    """A stored value as a registrar reads it: labels for codes, 是/否, masked IDs."""
    if value in (None, ""):
        return ""
    if col.kind == "yesno":
        if isinstance(value, str):
            return table("yesno").labels.get(value, value)
        return "是" if value else "否"
    if col.kind == "code" and col.code_table:
        return table(col.code_table).labels.get(str(value), str(value))
    if col.kind in MASKERS and not reveal:
        return str(mask_by_kind(col.kind, value))
    if col.kind == "date8":
        text = str(value).replace("-", "")
        return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 else text
    return str(value)


def student_sections(
    student: Student, snapshot: Mapping[str, Any], *, reveal: bool = False
) -> list[dict[str, Any]]:
    """The detail page's groups: [{label, rows: [(header, text, required)], empty}]."""
    raw = student_raw(student, snapshot)
    class_name = student.school_class.name if student.school_class_id else ""
    sections = []
    for g in STUDENT_GROUPS:
        rows = []
        for key in g.keys:
            col = BY_KEY[key]
            text = display_value(col, raw.get(key), reveal=reveal)
            if key == "class_no" and text:
                text = f"{class_name}（{text}）"
            rows.append({"label": col.header, "value": text, "key": key})
        sections.append({"key": g.key, "label": g.label, "rows": rows})
    members = {m.slot: m for m in student.family.all()}
    for g in MEMBER_GROUPS:
        slot = int(g.key[-1])
        rows = []
        if slot in members:
            for key in g.keys:
                col = BY_KEY[key]
                text = display_value(col, raw.get(key), reveal=reveal)
                rows.append({"label": member_label(col), "value": text, "key": key})
        sections.append({"key": g.key, "label": g.label, "rows": rows, "member": True})  # type: ignore[dict-item]
    return sections


EXTRA_LABELS: dict[str, str | Promise] = {
    "national_number": _("全国学籍号"),
    "status": _("学籍状态"),
    "class": _("班级"),
    "from_school": _("转出学校"),
    "to_school": _("转入学校"),
    # An entry copied by a transfer (shared_apps.transfers.move) names where it was made.
    "copied_from": _("记录来源"),
}


def national_number_display(number: str, *, reveal: bool = False) -> str:
    """A G number is G + the resident ID number, so it is masked like the ID itself."""
    return number if reveal else mask_national_number(number)


def history_rows(student: Student, *, reveal: bool = False) -> list[dict[str, Any]]:
    # from/to hold a registration state or (status changes, transfers) a status code;
    # the two code sets do not overlap.
    audit = dict(Student.Audit.choices) | dict(Student.Status.choices)
    statuses = dict(Student.Status.choices)
    from accounts.people import people_labels

    events = list(student.events.all())
    who = people_labels(e.actor for e in events)
    rows = []
    for e in events:
        changes = []
        for key, pair in (e.changes or {}).items():
            col = BY_KEY.get(key)
            if isinstance(pair, list):
                before, after = (list(pair) + [None, None])[:2]
                before = "" if before is None else before
            else:  # a single value (where a copied or moved record came from)
                before, after = None, pair
            if key == "copied_from":
                after = _("%(school)s（转学时随学籍转入的原记录）") % {"school": pair}
            if col is not None:
                before = display_value(col, before, reveal=reveal)
                after = display_value(col, after, reveal=reveal)
            elif key == "status":
                before, after = statuses.get(before, before), statuses.get(after, after)
            elif key == "national_number":
                before = national_number_display(str(before or ""), reveal=reveal)
                after = national_number_display(str(after or ""), reveal=reveal)
            changes.append(
                {
                    "label": col.header if col else EXTRA_LABELS.get(key, key),
                    "before": None if before is None else (before or "—"),
                    "after": after if after not in (None, "") else "—",
                }
            )
        rows.append(
            {
                "at": e.at,
                "actor": who[e.actor or ""],
                "action": e.action,
                "from": audit.get(e.from_state, e.from_state),
                "to": audit.get(e.to_state, e.to_state),
                "reason": e.reason,
                "changes": changes,
            }
        )
    return rows


# -- small forms ------------------------------------------------------------------------

UPLOAD_TYPES = ".xlsx,.xls,.csv"
EVIDENCE_TYPES = ".jpg,.jpeg,.png,.pdf"


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("导入文件"),
        help_text=_("支持 .xlsx、.xls、.csv，不超过20MB；请使用本校的导入模板。"),
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_TYPES}),
        error_messages={"required": _("请选择要上传的文件。")},
    )


IMPORT_MODES = ImportBatch.Mode.values

# Error kinds of registry.validation.rows (plus "duplicate" of the importer), for the chart.
ERROR_KIND_LABELS: dict[str, str | Promise] = {
    "required": _("必填项为空"),
    "max_length": _("超出长度"),
    "code_unknown": _("代码值无效"),
    "ethnicity_suffix": _("民族未写全称"),
    "yesno": _("是/否填写有误"),
    "name_space": _("姓名含空格"),
    "name_chars": _("姓名含非法字符"),
    "name_length": _("姓名长度不符"),
    "id_number_as_number": _("证件号被存为数字"),
    "id_format": _("证件号格式错误"),
    "id_birth_invalid": _("证件号出生日期无效"),
    "id_check_digit": _("证件号校验位错误"),
    "id_birth_mismatch": _("证件号与出生日期不符"),
    "id_sex_mismatch": _("证件号与性别不符"),
    "date_invalid": _("日期无效"),
    "date_future": _("日期晚于今天"),
    "age_range": _("年龄与学段不符"),
    "entry_ym": _("入学年月有误"),
    "class_entry_mismatch": _("班级与入学年月不符"),
    "class_no": _("班级编号格式错误"),
    "class_unknown": _("班级不存在"),
    "grade": _("年级无法识别"),
    "region_format": _("行政区划代码格式错误"),
    "region_unknown": _("行政区划代码不存在"),
    "region_village": _("村级代码无效"),
    "region_former": _("行政区划代码已撤销"),
    "phone": _("联系电话有误"),
    "postcode": _("邮政编码有误"),
    "email": _("电子信箱有误"),
    "int": _("应为整数"),
    "decimal": _("应为数字"),
    "id_validity": _("证件有效期有误"),
    "member_missing": _("缺少家庭成员"),
    "member_id_required": _("成员证件信息不全"),
    "member_guardian": _("未指定监护人"),
    "duplicate": _("重复学籍"),
    "not_admitted": _("不在录取名单中"),
}
