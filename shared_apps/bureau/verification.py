"""国家校验结果导入: the county imports the national system's verification results
(domain §3.2 step 9) for its schools.

The national system is outside our reach; its result file (one per county: 全国学籍号
and/or 身份证件号, 姓名, 结果, 说明) is read here, each row is looked for in every school of
the officer's region through registry.facade.national, and a dry run (`preview`) shows
per school what will happen, with the rows found nowhere and the rows of another
county's schools refused. `confirm` re-plans from the same file and, unless the plan
changed since the preview, applies it in ONE transaction over every school of the file:
passed rows verify the record (G number, or J for a pupil without an ID), failures open
a 问题学籍 of their kind. Each school's part is audited in the bureau's log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounts.audit import WRITE, audit_record
from accounts.models import User
from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_name
from shared_apps.bureau.selectors import access_schools
from shared_apps.student_index.keys import id_digest
from shared_apps.student_index.models import IndexEntry
from tenant_apps.registry import facade as national
from tenant_apps.registry.facade import checkpoint
from tenant_apps.rosters import facade as rosters

OBJECT_TYPE = "national_check"
# The outcomes' actions (registry.facade.national); plain strings, as they cross.
PASSED, VERIFY, PROBLEM, SKIP = "passed", "verify", "problem", "skip"
KEY_HEADERS = {
    "national_number": ("全国学籍号", "学籍号"),
    "id_number": ("身份证件号", "身份证号", "身份证号码", "证件号码"),
}
NAME_HEADERS = ("姓名", "学生姓名")
RESULT_HEADERS = ("结果", "校验结果", "比对结果")
NOTE_HEADERS = ("说明", "备注", "原因")
# The national system's result texts (and the short forms clerks type) onto our codes.
RESULTS: dict[str, str] = {
    "通过": PASSED,
    "校验通过": PASSED,
    "身份证号不存在": "id_not_found",
    "身份证件号不存在": "id_not_found",
    "身份证号与姓名不匹配": "id_name_mismatch",
    "身份证件号与姓名不匹配": "id_name_mismatch",
    "重复": "duplicate",
    "全国查重重复": "duplicate",
    "身份证件号重复": "duplicate",
    "身份证件号已发生变更": "id_changed",
    "身份证号已变更": "id_changed",
    "校验位错误": "id_check_digit",
    "身份证件号校验位错误": "id_check_digit",
}
RESULTS_SHOWN = "通过、身份证号不存在、身份证号与姓名不匹配、重复、身份证件号已发生变更、校验位错误"

MSG_NO_COLUMN = (
    "校验结果文件缺少“{column}”列：请保留国家系统导出的表头"
    "（全国学籍号或身份证件号、姓名、结果、说明）。"
)
MSG_NO_KEY = "第{row}行：“全国学籍号”和“身份证件号”都没有填写"
MSG_NO_NAME = "第{row}行：没有填写“姓名”"
MSG_RESULT = "第{row}行“结果”列的“{value}”不是可识别的校验结果（应为{allowed}之一）"
MSG_NOT_FOUND = "第{row}行（{name}）：本辖区学校中没有找到该学生"
MSG_OTHER_COUNTY = "第{row}行（{name}）：该生的学籍在其他县区的学校，已拒绝"
MSG_EMPTY = "校验结果文件中没有数据行。"
MSG_CHANGED = "预览之后学籍数据已有变化，请重新上传并预览后再确认。"
MSG_NOTHING = "没有可以导入的校验结果。"


@dataclass(frozen=True)
class SchoolPart:
    school_id: int
    school_name: str
    schema_name: str
    outcomes: tuple[national.CheckOutcome, ...]

    @property
    def verified(self) -> int:
        return sum(o.action == VERIFY for o in self.outcomes)

    @property
    def lines(self) -> list[tuple[int, str, str, str]]:
        """(row, class and masked name, what happens, why) for the dry run's table."""
        out = []
        for o in self.outcomes:
            kind = national.KIND_LABELS.get(o.kind, "")
            if o.action == VERIFY:
                what = "通过校验，分配正式学籍号"
            elif o.action == PROBLEM:
                what = f"转为问题学籍：{kind}"
            else:
                what = "不处理"
            out.append((o.row_no, o.student_label, what, o.reason))
        return out

    @property
    def problems(self) -> int:
        return sum(o.action == PROBLEM for o in self.outcomes)

    @property
    def skipped(self) -> int:
        return sum(o.action == SKIP for o in self.outcomes)


@dataclass(frozen=True)
class Plan:
    rows: int
    parts: tuple[SchoolPart, ...]
    bad: tuple[str, ...] = ()  # rows not read: the message names row and column
    not_found: tuple[str, ...] = ()
    other_county: tuple[str, ...] = ()
    checked: tuple[national.CheckRow, ...] = field(default=(), repr=False)

    @property
    def verified(self) -> int:
        return sum(p.verified for p in self.parts)

    @property
    def problems(self) -> int:
        return sum(p.problems for p in self.parts)

    @property
    def skipped(self) -> int:
        return sum(p.skipped for p in self.parts)

    @property
    def digest(self) -> str:
        """What the plan would do, as a short digest: confirm refuses another plan."""
        body = [
            [p.school_id, [[o.row_no, o.action, o.kind, str(o.student_uuid)] for o in p.outcomes]]
            for p in self.parts
        ]
        text = json.dumps([body, self.not_found, self.other_county, self.bad], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def _column(headers: list[str], names: tuple[str, ...]) -> int | None:
    clean = [h.replace(" ", "") for h in headers]
    for want in names:
        if want in clean:
            return clean.index(want)
    return None


def _text(cells: list[object], ci: int | None) -> str:
    if ci is None or ci >= len(cells) or cells[ci] is None:
        return ""
    return str(cells[ci]).strip()


def rows_read(*, filename: str, data: bytes) -> tuple[list[national.CheckRow], list[str]]:
    """The file's rows as CheckRows, and the messages of the rows that cannot be read."""
    headers, rows = rosters.roster_read(filename=filename, data=data)
    number_ci = _column(headers, KEY_HEADERS["national_number"])
    id_ci = _column(headers, KEY_HEADERS["id_number"])
    name_ci = _column(headers, NAME_HEADERS)
    result_ci = _column(headers, RESULT_HEADERS)
    note_ci = _column(headers, NOTE_HEADERS)
    for ci, column in (
        (number_ci if id_ci is None else id_ci, "身份证件号"),
        (name_ci, "姓名"),
        (result_ci, "结果"),
    ):
        if ci is None:
            message = MSG_NO_COLUMN.format(column=column)
            raise ApplicationError(message, code="invalid", extra={"file": [message]})
    out: list[national.CheckRow] = []
    bad: list[str] = []
    for row_no, cells in rows:
        key = (_text(cells, number_ci) or _text(cells, id_ci)).replace(" ", "").upper()
        name = _text(cells, name_ci)
        raw_result = _text(cells, result_ci).replace(" ", "")
        if not key:
            bad.append(MSG_NO_KEY.format(row=row_no))
            continue
        if not name:
            bad.append(MSG_NO_NAME.format(row=row_no))
            continue
        result = RESULTS.get(raw_result)
        if result is None:
            bad.append(MSG_RESULT.format(row=row_no, value=raw_result, allowed=RESULTS_SHOWN))
            continue
        out.append(national.CheckRow(row_no, key, name, result, _text(cells, note_ci)[:300]))
    if not out and not bad:
        raise ApplicationError(MSG_EMPTY, code="invalid", extra={"file": [MSG_EMPTY]})
    return out, bad


def _plan(*, user: User, filename: str, data: bytes) -> Plan:
    rows, bad = rows_read(filename=filename, data=data)
    schools = list(access_schools(user=user).order_by("code", "name"))
    parts: list[SchoolPart] = []
    matched: set[int] = set()
    for school in schools:
        outcomes = national.national_check_plan(schema_name=school.schema_name, rows=rows)
        if outcomes:
            matched.update(o.row_no for o in outcomes)
            parts.append(SchoolPart(school.pk, school.name, school.schema_name, tuple(outcomes)))
    own = {s.pk for s in schools}
    not_found: list[str] = []
    other: list[str] = []
    for r in rows:
        if r.row_no in matched:
            continue
        # A G number is G + the ID number; an L or J number names no ID to look for.
        id_number = r.key[1:] if r.key.startswith("G") and len(r.key) == 19 else r.key
        hashed = id_digest(id_number) if not r.key.startswith(("L", "J")) else ""
        elsewhere = (
            hashed and IndexEntry.objects.filter(id_hash=hashed).exclude(school_id__in=own).exists()
        )
        template = MSG_OTHER_COUNTY if elsewhere else MSG_NOT_FOUND
        (other if elsewhere else not_found).append(
            template.format(row=r.row_no, name=mask_name(r.name))
        )
    return Plan(
        len(rows) + len(bad), tuple(parts), tuple(bad), tuple(not_found), tuple(other), tuple(rows)
    )


def preview(*, user: User, filename: str, data: bytes) -> Plan:
    """The dry run: what the file would do in each school; nothing is written."""
    return _plan(user=user, filename=filename, data=data)


def confirm(*, user: User, filename: str, data: bytes, digest: str, request: Any = None) -> Plan:
    """Apply the previewed file in ONE transaction over every school it touches; refuse
    when the plan is no longer the one previewed (records changed meanwhile)."""
    actor = Actor.of(user)
    with transaction.atomic():
        plan = _plan(user=user, filename=filename, data=data)
        if plan.digest != digest:
            raise ApplicationError(MSG_CHANGED, code="changed")
        if not plan.verified and not plan.problems:
            raise ApplicationError(MSG_NOTHING, code="invalid")
        for part in plan.parts:
            if not part.verified and not part.problems:
                continue
            national.national_check_apply(
                schema_name=part.schema_name, rows=plan.checked, actor=actor
            )
            audit_record(
                request=request,
                actor=user,
                action=WRITE,
                object_type=OBJECT_TYPE,
                object_id=part.school_id,
                object_repr=f"{part.school_name}：导入国家校验结果，通过{part.verified}人，"
                f"问题学籍{part.problems}人",
                after={
                    "file": filename[:100],
                    "verified": part.verified,
                    "problems": part.problems,
                },
            )
        checkpoint("national_check_before_commit")
    return plan
