"""The teacher-training platform's export (省师训平台教师名单) into the school's teacher
records (issue 18 point 5), through the same staging as the pupils' rosters.

* Mapping: the export's columns map onto the teacher record's fields
  (registry.teachers.services.TEACHER_COLUMNS, without 任职状态, which follows from being
  in the export or not) and a 出生日期 column that is only checked against the ID number.
* Checking: every staged row by the teacher record's own rules
  (registry.teachers.services.teacher_clean, the one validation of teacher fields); the
  birth date by the registry's date rule and the ID-number/birth-date rule
  (registry.validation.rows.RowValidator); repeats, ID and staff numbers twice in the
  export. A row without a staff number whose ID number names a record takes that
  record's staff number, and the row says so.
* The diff against the records: identity is the ID number, else the staff number (the
  record has no birth date). 新增: in the export, not in the records; 变更: field by
  field, only the fields the export fills (an empty cell erases nothing), and a record
  no longer serving that is back in the export returns to 在职; 离开: serving in the
  records, absent from the export.
* 确认 applies the whole diff in ONE transaction through the teacher services
  (teacher_create, teacher_update, teacher_reactivate, teacher_deactivate with the
  reason NOTE_GONE), each audited as they audit. 全体教师 is computed from active
  accounts with a teaching role (accounts.groups), so it follows the accounts: a new
  teacher gets an account with the role 全体教师 as an arriving teacher does
  (registry.teachers.transfer), or is linked to the account of that staff number; a
  gone teacher's account is disabled by the deactivation; a returning one's enabled.
  Nothing is applied while a row is still to be corrected (its teacher would be taken
  for gone), nor when the records changed since the diff was shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import WRITE, audit_record
from accounts.models import User
from common.actor import Actor
from common.masking import mask_id_number, mask_phone
from tenant_apps.registry.models.teachers import SERVING_STATUSES, Teacher, TeacherStatus
from tenant_apps.registry.teachers.services import (
    CHOICES,
    HEADERS,
    TEACHER_COLUMNS,
    teacher_clean,
    teacher_create,
    teacher_deactivate,
    teacher_reactivate,
    teacher_update,
)
from tenant_apps.rosters.headers import Vocabulary, known_names
from tenant_apps.rosters.models import RosterUpload, StagedRow
from tenant_apps.rosters.services import (
    MSG_REPEATED,
    OBJECT_TYPE,
    _cells,
    _counts_save,
    _refuse,
    _rows_insert,
    _rows_write,
)

BIRTH_KEY = "birth_date"
# The record's fields an export can fill (任职状态 follows from being in the export).
FIELDS = tuple(c.key for c in TEACHER_COLUMNS if c.key != "status")
TARGETS: dict[str, str] = {
    **{key: HEADERS[key] for key in FIELDS},
    BIRTH_KEY: "出生日期（只核对身份证号）",
}
# Header names of the 师训平台 export and of schools' own lists.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "staff_no": ("工号", "教师编号", "教职工编号", "职工号", "人员编号", "教师工号"),
    "name": ("姓名", "教师姓名", "学员姓名"),
    "sex": ("性别",),
    "id_number": ("身份证号", "身份证号码", "身份证件号", "证件号码", "证件号", "公民身份号码"),
    BIRTH_KEY: ("出生日期", "出生年月", "出生年月日"),
    "phone": ("联系电话", "手机号码", "手机号", "手机", "联系方式"),
    "subject": ("任教学科", "学科", "主教学科", "任教科目"),
    "title": ("职称", "专业技术职务", "现聘职称", "职称（职务）"),
    "employment": ("用工形式", "人员类别", "编制情况", "用人方式"),
}
TEACHERS = Vocabulary(TARGETS, known_names(TARGETS, SYNONYMS))

NOTE_GONE = "师训平台名单中已无此人"
MSG_NO_HEADER = (
    "没有找到表头：文件前10行中没有一行包含“姓名”“身份证号”“性别”等常见列名中的两个以上。"
    "请确认上传的是师训平台导出的教师名单。"
)
MSG_DUP_IN_FILE = "{header}与本名单第{other}行重复。"
MSG_STAFF_NO_OTHER = (
    "工号：{staff_no} 已是教师{name}的工号，而这一行的身份证号与其不同；请核对工号。"
)
MSG_STAFF_FROM_RECORD = "按身份证号取自教师记录"
MSG_INVALID_LEFT = "还有 {n} 行待修改：请先改正，否则这些教师会被当作“离开”。"
MSG_DIFF_CHANGED = (
    "教师记录或名单在您查看差异之后有变动，本次未作任何修改。请重新查看差异后再确认。"
)
MSG_NO_DIFF = "名单与教师记录一致，没有需要确认的差异。"
MSG_APPLIED = "这份名单已于 {when} 确认过，不能再次确认；请重新上传最新导出的名单。"

KIND_LABELS = {
    "required": "必填项为空",
    "id_number_as_number": "身份证号被当作数字",
    "duplicate": "名单内重复",
    "staff_no_other": "工号属于另一位教师",
    "date_invalid": "出生日期有误",
    "date_future": "出生日期有误",
    "id_birth_mismatch": "出生日期与身份证号不一致",
    **{key: f"{HEADERS[key]}有误" for key in FIELDS},
}


# -- checking --------------------------------------------------------------------------


def _kind(key: str, message: str) -> str:
    """A teacher_clean message's kind, for the counts per kind (it reports by field)."""
    from tenant_apps.registry.validation.messages import MSG_ID_AS_NUMBER, MSG_REQUIRED

    header = HEADERS[key]
    if message == MSG_REQUIRED.format(header=header):
        return "required"
    if message == MSG_ID_AS_NUMBER.format(header=header):
        return "id_number_as_number"
    return key


def _shown(key: str, value: object) -> str:
    from tenant_apps.rosters.selectors import cell_shown

    return cell_shown(key, value)


def _error(key: str, value: object, message: str, kind: str) -> dict[str, str]:
    return {
        "key": key,
        "header": TARGETS.get(key, ""),
        "value": _shown(key, value)[:40],
        "message": message,
        "kind": kind,
    }


@dataclass
class _Records:
    """The school's teacher records by ID number and staff number, read once per check."""

    by_id: dict[str, Teacher]
    by_staff: dict[str, Teacher]

    @classmethod
    def load(cls) -> _Records:
        teachers = list(Teacher.objects.select_related("user"))
        return cls(
            by_id={t.id_number: t for t in teachers if t.id_number},
            by_staff={t.staff_no: t for t in teachers},
        )

    def match(self, cells: Mapping[str, object]) -> Teacher | None:
        number, staff_no = str(cells.get("id_number") or ""), str(cells.get("staff_no") or "")
        if number and number in self.by_id:
            return self.by_id[number]
        return self.by_staff.get(staff_no) if staff_no else None


def _birth_check(validator: Any, birth: object, values: Mapping[str, str], bad: set[str]) -> Any:
    """The birth date by the registry's own date rule and, when the ID number passed,
    against the ID number's birth date: (date or None, errors, normalised)."""
    number = values.get("id_number") if "id_number" not in bad else ""
    result = validator.validate(
        {"birth_date": birth, "id_type": "1" if number else None, "id_number": number or None}
    )
    errors = [
        _error(BIRTH_KEY, birth, e.message, e.kind)
        for e in result.errors
        if e.key == BIRTH_KEY or e.kind == "id_birth_mismatch"
    ]
    normalised = [
        {"key": BIRTH_KEY, "header": TARGETS[BIRTH_KEY], "before": n.before, "after": n.after}
        for n in result.normalised
        if n.key == BIRTH_KEY
    ]
    return result.data.get(BIRTH_KEY), errors, normalised


def teacher_rows_check(
    upload: RosterUpload, *, new_rows: list[StagedRow] | None = None
) -> dict[str, Any]:
    """Map and check the staged rows of a teacher export (every row not applied yet):
    teacher_clean on the mapped cells, the birth date, repeats, ID and staff numbers
    twice, a staff number already another teacher's. Only rows whose outcome changed
    are written (new rows are inserted). Returns the upload's counts."""
    from tenant_apps.registry.validation.rows import RowValidator

    source = upload.source
    mapping: list[str] = upload.counts.get("mapping") or []
    rows = (
        new_rows
        if new_rows is not None
        else list(upload.rows.exclude(state=StagedRow.State.PROMOTED).order_by("row_no"))
    )
    records = _Records.load()
    validator = RowValidator()
    seen_raw: dict[str, int] = {}
    seen: dict[tuple[str, str], int] = {}
    changed: list[StagedRow] = []
    for row in rows:
        before = (row.state, row.errors, row.normalised, row.note, row.match_key, row.cells)
        signature = repr(row.raw)
        if signature in seen_raw:
            row.state, row.errors, row.normalised, row.cells = StagedRow.State.REPEATED, [], [], {}
            row.note = MSG_REPEATED.format(other=seen_raw[signature])
        else:
            seen_raw[signature] = row.row_no
            _row_check(row, mapping, source.defaults, records, validator, seen)
        if before != (row.state, row.errors, row.normalised, row.note, row.match_key, row.cells):
            changed.append(row)
    if new_rows is not None:
        _rows_insert(upload, new_rows)
    else:
        _rows_write(changed)
    return _counts_save(upload)


def _row_check(
    row: StagedRow,
    mapping: Sequence[str],
    defaults: Mapping[str, str],
    records: _Records,
    validator: Any,
    seen: dict[tuple[str, str], int],
) -> None:
    cells, _grade, _class = _cells(row.raw, mapping, defaults, row.edits)
    birth = cells.pop(BIRTH_KEY, None)
    given = {k for k, v in cells.items() if k in FIELDS and str(v).strip()}
    values, found = teacher_clean(cells)
    normalised: list[dict[str, str]] = []
    number = values["id_number"] if "id_number" not in found else ""
    if "staff_no" not in given and number in records.by_id:
        # The export has no staff numbers (or not this one): the record's, said so.
        staff_no = records.by_id[number].staff_no
        cells["staff_no"] = staff_no
        given.add("staff_no")
        values, found = teacher_clean(cells)
        normalised.append(
            {
                "key": "staff_no",
                "header": f"{HEADERS['staff_no']}（{MSG_STAFF_FROM_RECORD}）",
                "before": "",
                "after": staff_no,
            }
        )
    errors = [
        _error(key, cells.get(key), message, _kind(key, message))
        for key, messages in found.items()
        for message in messages
    ]
    bad = set(found)
    kept = {k: values[k] for k in given if k not in bad}
    if birth not in (None, ""):
        day, birth_errors, birth_normalised = _birth_check(validator, birth, values, bad)
        errors += birth_errors
        normalised += birth_normalised
        if day is not None and not birth_errors:
            kept[BIRTH_KEY] = day.strftime("%Y%m%d")
    staff_no = kept.get("staff_no", "")
    number = kept.get("id_number", "")
    # A staff number that is another teacher's, whose ID number differs.
    other = records.by_staff.get(staff_no) if staff_no else None
    if other is not None and number and other.id_number and other.id_number != number:
        message = MSG_STAFF_NO_OTHER.format(staff_no=staff_no, name=other.name)
        errors.append(_error("staff_no", staff_no, message, "staff_no_other"))
    for key, value in (("id_number", number), ("staff_no", staff_no)):
        if not value:
            continue
        first = seen.setdefault((key, value), row.row_no)
        if first != row.row_no:
            message = MSG_DUP_IN_FILE.format(header=HEADERS[key], other=first)
            errors.append(_error(key, value, message, "duplicate"))
    row.cells = kept
    row.errors = errors
    row.normalised = normalised
    row.note = ""
    row.match_key = f"t:id:{number}" if number else (f"t:staff:{staff_no}" if staff_no else "")
    row.state = StagedRow.State.INVALID if errors else StagedRow.State.READY


# -- the diff --------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    key: str
    label: str
    before: str  # as shown: labels for codes, ID numbers and phones masked
    after: str


@dataclass(frozen=True)
class DiffItem:
    kind: str  # "new", "changed", "gone"
    name: str
    staff_no: str
    row_id: int | None = None  # the staged row (new, changed)
    row_no: int | None = None
    teacher_id: int | None = None  # the record (changed, gone)
    changes: tuple[FieldChange, ...] = ()
    returns: bool = False  # a record not serving, back in the export: to 在职


@dataclass(frozen=True)
class TeacherDiff:
    new: tuple[DiffItem, ...]
    changed: tuple[DiffItem, ...]
    gone: tuple[DiffItem, ...]
    invalid: int  # rows still to be corrected
    fingerprint: str = field(default="")

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.gone)

    @property
    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "changed": len(self.changed), "gone": len(self.gone)}


def _label(key: str, value: str) -> str:
    if not value:
        return "（空）"
    if key in CHOICES:
        return dict(CHOICES[key]).get(value, value)
    if key == "id_number":
        return mask_id_number(value)
    if key == "phone":
        return mask_phone(value)
    return value


def _record_values(teacher: Teacher) -> dict[str, str]:
    return {c.key: str(getattr(teacher, c.key) or "") for c in TEACHER_COLUMNS}


def teacher_diff(upload: RosterUpload) -> TeacherDiff:
    """新增, 变更 and 离开 of the export's ready rows against the school's records now."""
    records = _Records.load()
    matched: set[int] = set()
    new: list[DiffItem] = []
    changed: list[DiffItem] = []
    for row in upload.rows.filter(state=StagedRow.State.READY).order_by("row_no"):
        cells = {k: str(v) for k, v in row.cells.items()}
        teacher = records.match(cells)
        name = cells.get("name", "")
        if teacher is None:
            new.append(
                DiffItem("new", name, cells.get("staff_no", ""), row_id=row.pk, row_no=row.row_no)
            )
            continue
        matched.add(teacher.pk)
        old = _record_values(teacher)
        changes = tuple(
            FieldChange(key, HEADERS[key], _label(key, old[key]), _label(key, cells[key]))
            for key in FIELDS
            if key in cells and cells[key] != old[key]
        )
        returns = teacher.status not in SERVING_STATUSES
        if returns:
            status = teacher.get_status_display()
            changes += (FieldChange("status", HEADERS["status"], status, "在职"),)
        if changes:
            changed.append(
                DiffItem(
                    "changed",
                    teacher.name,
                    teacher.staff_no,
                    row_id=row.pk,
                    row_no=row.row_no,
                    teacher_id=teacher.pk,
                    changes=changes,
                    returns=returns,
                )
            )
    # A row still to be corrected whose ID or staff number names a record keeps that
    # teacher from being taken for gone (nothing is applied before it is corrected).
    for row in upload.rows.filter(state=StagedRow.State.INVALID):
        teacher = records.match({k: str(v) for k, v in row.cells.items()})
        if teacher is not None:
            matched.add(teacher.pk)
    gone = tuple(
        DiffItem("gone", t.name, t.staff_no, teacher_id=t.pk)
        for t in sorted(records.by_staff.values(), key=lambda t: t.staff_no)
        if t.status in SERVING_STATUSES and t.pk not in matched
    )
    invalid = upload.rows.filter(state=StagedRow.State.INVALID).count()
    digest = hashlib.sha256(repr((new, changed, gone, invalid)).encode()).hexdigest()[:32]
    return TeacherDiff(tuple(new), tuple(changed), gone, invalid, digest)


# -- 确认 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedAccount:
    """An account opened for a new teacher: its one-time password is shown once to the
    confirming user and never stored."""

    name: str
    username: str
    password: str


@dataclass(frozen=True)
class Applied:
    new: int
    changed: int
    gone: int
    accounts: tuple[OpenedAccount, ...]


def _account_open(*, staff_no: str, name: str, actor: Actor, request: Any) -> OpenedAccount:
    """The new teacher's account as an arriving teacher's is opened
    (registry.teachers.transfer): username = staff number, role 全体教师, a one-time
    password to change at the first login; audited."""
    from accounts.roles import Role
    from accounts.services import user_create

    created = user_create(username=staff_no, full_name=name[:50], roles=[Role.ALL_TEACHERS])
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type="user",
        object_id=created.user_id,
        object_repr=f"为师训平台名单新增教师开通账号：{name}（{staff_no}）",
        after={
            "用户名": created.username,
            "角色": Role.ALL_TEACHERS.label,
            "首次登录须修改密码": True,
        },
    )
    return OpenedAccount(name=name, username=created.username, password=created.initial_password)


@transaction.atomic(durable=True)
def teachers_apply(
    *,
    upload_id: str,
    fingerprint: str,
    open_accounts: bool,
    actor: Actor,
    actor_user: User | None = None,
    request: Any = None,
) -> Applied:
    """确认: the diff the user saw (`fingerprint`), whole, in ONE transaction through the
    teacher services; the staged rows become 已转入. Any failure leaves the records,
    the accounts and the staged rows as they were."""
    # The teacher import's lock: one writer of the school's staff numbers at a time.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"teachers:{connection.schema_name}"]
        )
    upload = RosterUpload.objects.select_for_update().select_related("source").get(pk=upload_id)
    applied_at = (upload.counts.get("applied") or {}).get("at")
    if applied_at:
        raise _refuse(MSG_APPLIED.format(when=applied_at), "rows", "state")
    diff = teacher_diff(upload)
    if diff.invalid:
        raise _refuse(MSG_INVALID_LEFT.format(n=diff.invalid), "rows", "state")
    if diff.fingerprint != fingerprint:
        raise _refuse(MSG_DIFF_CHANGED, "rows", "conflict")
    if diff.empty:
        raise _refuse(MSG_NO_DIFF, "rows", "state")
    rows = {r.pk: r for r in upload.rows.filter(state=StagedRow.State.READY)}
    opened: list[OpenedAccount] = []
    for item in diff.new:
        assert item.row_id is not None
        values = {k: v for k, v in rows[item.row_id].cells.items() if k in FIELDS}
        staff_no = str(values.get("staff_no", ""))
        if open_accounts and not User.objects.filter(username=staff_no).exists():
            opened.append(
                _account_open(staff_no=staff_no, name=item.name, actor=actor, request=request)
            )
        # teacher_create links the account of that staff number (opened just now or not).
        teacher_create(data=values, actor=actor, request=request)
    for item in diff.changed:
        assert item.row_id is not None
        assert item.teacher_id is not None
        if item.returns:
            teacher = teacher_reactivate(teacher_id=item.teacher_id, actor=actor, request=request)
            if teacher.user is not None and not teacher.user.is_active:
                from accounts.services import user_set_active

                user_set_active(user=teacher.user, active=True, actor=actor_user, request=request)
        teacher = Teacher.objects.get(pk=item.teacher_id)
        cells = rows[item.row_id].cells
        if any(c.key != "status" for c in item.changes):
            data = _record_values(teacher) | {k: str(v) for k, v in cells.items() if k in FIELDS}
            teacher_update(teacher_id=teacher.pk, data=data, actor=actor, request=request)
    for item in diff.gone:
        assert item.teacher_id is not None
        teacher = Teacher.objects.get(pk=item.teacher_id)
        # Nobody disables his or her own account (accounts.services.user_set_active).
        own = actor_user is not None and teacher.user_id == actor_user.pk
        teacher_deactivate(
            teacher_id=teacher.pk,
            status=TeacherStatus.LEFT,
            note=NOTE_GONE,
            disable_account=teacher.user_id is not None and not own,
            actor=actor,
            actor_user=actor_user,
            request=request,
        )
    now = timezone.now()
    upload.rows.filter(pk__in=list(rows)).update(state=StagedRow.State.PROMOTED, promoted_at=now)
    counts = diff.counts
    upload.counts = {
        **upload.counts,
        "applied": {
            **counts,
            "accounts": len(opened),
            "at": timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
        },
    }
    upload.save(update_fields=["counts"])
    _counts_save(upload)
    audit_record(
        request=request,
        actor=actor,
        action=WRITE,
        object_type=OBJECT_TYPE,
        object_id=upload.pk,
        object_repr=(
            f"{upload.filename}：确认师训平台名单，新增{counts['new']}人、"
            f"变更{counts['changed']}人、离开{counts['gone']}人"
        ),
        after={**counts, "开通账号": len(opened)},
    )
    return Applied(counts["new"], counts["changed"], counts["gone"], tuple(opened))
