"""The national check's rows and outcomes as plain values (no model import: the
bureau reads them through registry.facade.national before any school is entered)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

PASSED = "passed"
# The result column's failures and the problem kind (ProblemRecord.Kind) each opens
# (domain §4.14).
FAILURE_KINDS: dict[str, str] = {
    "id_not_found": "id_not_found",
    "id_name_mismatch": "id_name_mismatch",
    "duplicate": "national_duplicate",
    "id_changed": "id_changed",
    "id_check_digit": "id_check_digit",
}

# The same texts as ProblemRecord.Kind's labels (a test holds them equal).
KIND_LABELS: dict[str, str] = {
    "id_not_found": "身份证件号不存在",
    "id_name_mismatch": "身份证件号与姓名不匹配",
    "national_duplicate": "全国查重重复",
    "id_changed": "身份证件号已发生变更",
    "id_check_digit": "身份证件号校验位错误",
}

VERIFY = "verify"
PROBLEM = "problem"
SKIP = "skip"

MSG_NOT_REGISTERED = "该生尚未通过教育局审核（当前：{state}），不能接收国家校验结果"
MSG_DELETED = "该生学籍已删除"
MSG_ALREADY = "该生已通过国家校验，无需处理"
MSG_NAME = "姓名“{name}”与学籍姓名不一致，未处理"
MSG_OPEN = "该生已有同类问题学籍待处理"


@dataclass(frozen=True)
class CheckRow:
    """One row of the national result file, read and validated by the bureau."""

    row_no: int
    key: str  # 全国学籍号 or 身份证件号, upper case
    name: str
    result: str  # PASSED or a key of FAILURE_KINDS
    note: str


@dataclass(frozen=True)
class CheckOutcome:
    """What a row does to this school's record: VERIFY, PROBLEM (with the kind) or SKIP
    (with the reason). `student_label` is the class and the masked name, for the
    county's list."""

    row_no: int
    action: str
    kind: str
    reason: str
    student_label: str
    student_uuid: uuid.UUID
