"""Every write on the registry of the current school.

Entry points own their transaction; each student write refreshes the public index in
the same transaction, so the index never disagrees with the schools. The two-level
registration audit (学籍注册审核: submit, the school's decision, the bureau's) is in
registry.students.approval.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from stdnum.cn import ric

from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number
from shared_apps.student_index.keys import IdentityKeys, identity_keys, name_initials
from shared_apps.student_index.services import (
    Hit,
    IndexRecord,
    duplicates_find,
    index_upsert,
)
from tenant_apps.registry import counts
from tenant_apps.registry.facade import masked_students
from tenant_apps.registry.fields import BY_KEY, COLUMNS, MEMBER_COLUMNS, STUDENT_COLUMNS
from tenant_apps.registry.models import (
    OWN_COLUMNS,
    FamilyMember,
    ProblemRecord,
    SchoolClass,
    Student,
    StudentEvent,
)

MSG_INVALID = "学生信息有误，请按提示修改。"
MSG_DUPLICATE = "身份证件号与已有学籍重复：{others}。请勿重复注册；如确属本人，请办理转学。"
MSG_NOT_FOUND = "未找到该学生。"

STUDENT_FIELDS = [c.key for c in STUDENT_COLUMNS if c.key not in OWN_COLUMNS]
MEMBER_FIELDS = [c.key.removeprefix("m1_") for c in MEMBER_COLUMNS["member1"]]


# -- helpers ------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolInfo:
    id: int
    name: str
    area: str  # 6-digit county code of the school's location


def current_school() -> SchoolInfo:
    from tenants.models import School

    row = (
        School.objects.filter(schema_name=connection.schema_name)
        .values_list("id", "name", "county_id")
        .first()
    )
    if row is None:
        raise ApplicationError("当前不在学校域名下。", code="not_found")
    return SchoolInfo(id=row[0], name=row[1], area=(row[2] or "000000")[:6])


def keys_of(data: dict[str, Any], *, near: bool = True) -> IdentityKeys:
    id_number = str(data.get("id_number") or "") if data.get("id_type") == "1" else ""
    return identity_keys(
        name=str(data["name"]),
        sex=str(data["sex"]),
        birth_date=data["birth_date"],
        id_number=id_number,
        near=near,
    )


# A problem record still to be dealt with: the record counts as 问题学籍 in the index
# (has_problem) even when registered, as the nightly 查重 flags it (problems_flag).
OPEN_PROBLEM_STATES = (ProblemRecord.State.OPEN, ProblemRecord.State.EVIDENCE_PENDING)


def has_open_problem(student: Student) -> bool:
    """Whether the record is 问题学籍 or has an open problem record; a queryset may carry
    the answer as the `open_problem` annotation (open_problem_annotation) instead."""
    if student.audit_state == Student.Audit.PROBLEM:
        return True
    annotated = student.__dict__.get("open_problem")
    if annotated is not None:
        return bool(annotated)
    if student.pk is None:
        return False
    return ProblemRecord.objects.filter(
        student_id=student.pk, state__in=OPEN_PROBLEM_STATES
    ).exists()


def open_problem_annotation() -> Exists:
    """`Student.objects.annotate(open_problem=open_problem_annotation())`: has_open_problem
    without a query per student."""
    return Exists(
        ProblemRecord.objects.filter(student_id=OuterRef("pk"), state__in=OPEN_PROBLEM_STATES)
    )


def index_record(student: Student, keys: IdentityKeys | None = None) -> IndexRecord:
    klass = student.school_class
    return IndexRecord(
        student_uuid=student.identifier,
        keys=keys
        or keys_of(
            {
                "name": student.name,
                "sex": student.sex,
                "birth_date": student.birth_date,
                "id_number": student.id_number,
                "id_type": getattr(student, "id_type", "1"),
            }
        ),
        stage=klass.stage,
        entry_year=klass.entry_year,
        sex=student.sex,
        ethnicity=getattr(student, "ethnicity", "") or "",
        status=student.status,
        audit_state=student.audit_state,
        has_problem=has_open_problem(student),
        flags=counts.flag_bits({f: getattr(student, f) for f in counts.FLAG_SOURCE_FIELDS}),
    )


def masked_for_hits(hits: Sequence[Hit]) -> dict[uuid.UUID, dict[str, str]]:
    """Masked summaries of the other records, one read per school involved."""
    from tenants.models import School

    by_school: dict[int, list[uuid.UUID]] = {}
    for h in hits:
        by_school.setdefault(h.school_id, []).append(h.student_uuid)
    schools = {
        pk: (schema, name)
        for pk, schema, name in School.objects.filter(pk__in=by_school).values_list(
            "pk", "schema_name", "name"
        )
    }
    result: dict[uuid.UUID, dict[str, str]] = {}
    for school_id, uuids in by_school.items():
        schema, name = schools[school_id]
        # A read inside each other school; only masked strings come back.
        found = masked_students(schema_name=schema, school_name=name, uuids=uuids)
        result.update({k: v.as_dict() for k, v in found.items()})
    return result


def number_ranges(*, letter: str, counts: dict[str, int]) -> dict[str, int]:
    """Reserve `counts[area+birth]` numbers per prefix in ONE statement; return the first
    sequence number of each reserved range."""
    if not counts:
        return {}
    prefixes = [f"{letter}{k}" for k in counts]
    values = list(counts.values())
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO public.student_index_numbersequence (prefix, last)
               SELECT * FROM unnest(%s::varchar[], %s::int[])
               ON CONFLICT (prefix) DO UPDATE
                 SET last = public.student_index_numbersequence.last + EXCLUDED.last
               RETURNING prefix, last""",
            [prefixes, values],
        )
        rows = cursor.fetchall()
    return {prefix[1:]: last - counts[prefix[1:]] + 1 for prefix, last in rows}


def temporary_numbers(area: str, births: Sequence[dt.date]) -> list[str]:
    """L numbers: 6-digit area of the school + 8-digit birth date + 4 digits (§2.2)."""
    keys = [f"{area}{b:%Y%m%d}" for b in births]
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    start = number_ranges(letter="L", counts=counts)
    numbers = []
    for k in keys:
        numbers.append(f"L{k}{start[k] % 10000:04d}")
        start[k] += 1
    return numbers


def formal_number(student: Student, area: str) -> tuple[str, str]:
    """G + ID number for resident-ID holders; otherwise a J number built by ID rules."""
    if getattr(student, "id_type", "") == "1" and len(student.id_number) == 18:
        return Student.NumberKind.FORMAL_ID, f"G{student.id_number}"
    key = f"{area}{student.birth_date:%Y%m%d}"
    seq = number_ranges(letter="J", counts={key: 1})[key] % 1000
    body = f"{key}{seq:03d}"
    return Student.NumberKind.FORMAL_NO_ID, f"J{body}{ric.calc_check_digit(body + '0')}"


def event_add(
    student_ids: Iterable[int],
    *,
    actor: Actor,
    action: str,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> None:
    ids = list(student_ids)
    if len(ids) < EVENT_COPY_MIN:
        StudentEvent.objects.bulk_create(
            [
                StudentEvent(
                    student_id=sid,
                    actor=actor.label,
                    action=action,
                    from_state=from_state,
                    to_state=to_state,
                    reason=reason,
                    changes=changes or {},
                )
                for sid in ids
            ],
            batch_size=5000,
        )
        return
    # Thousands of events (an import): the same rows through COPY, several times faster
    # than INSERTs built by the ORM. The table name resolves through the school's
    # search_path like the ORM's.
    import json

    from psycopg import sql

    columns = ["student_id", "at", "actor", "action", "from_state", "to_state", "reason"]
    statement = sql.SQL("COPY {} ({}, changes) FROM STDIN").format(
        sql.Identifier(StudentEvent._meta.db_table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
    )
    # The same values on every row; `changes` as JSON text once (COPY parses it as jsonb).
    common = (
        timezone.now(),
        actor.label,
        action,
        from_state,
        to_state,
        reason,
        json.dumps(changes or {}),  # as JSONField (no encoder) would
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for sid in ids:
            copy.write_row((sid, *common))


EVENT_COPY_MIN = 500


def _apply(student: Student, data: dict[str, Any], classes: dict[str, int]) -> None:
    student.name = data["name"]
    student.sex = data["sex"]
    student.birth_date = data["birth_date"]
    student.id_number = data.get("id_number") or ""
    student.school_class_id = classes[data["class_no"]]
    student.number_in_class = data.get("number_in_class")
    student.entry_year_month = data["entry_year_month"]
    student.aux_number = data.get("aux_number") or ""
    student.name_initials = name_initials(data["name"])  # = initials(), per-word cache
    # An empty cell is "" in a text column and NULL in the others (_STUDENT_EMPTY).
    values = map(data.get, STUDENT_FIELDS)
    for key, value, empty in zip(STUDENT_FIELDS, values, _STUDENT_EMPTY, strict=True):
        setattr(student, key, empty if value is None else value)


_NULLABLE = {c.key for c in STUDENT_COLUMNS if c.kind in {"date8", "yesno", "int", "decimal"}}
_STUDENT_EMPTY = [None if key in _NULLABLE else "" for key in STUDENT_FIELDS]
_MEMBER_NULLABLE = {
    c.key.removeprefix("m1_")
    for c in MEMBER_COLUMNS["member1"]
    if c.kind in {"date8", "yesno", "int", "decimal"}
}


def _members(student_id: int, data: dict[str, Any]) -> list[FamilyMember]:
    members = []
    for slot in (1, 2):
        values = {f: data.get(f"m{slot}_{f}") for f in MEMBER_FIELDS}
        if not any(v not in (None, "") for v in values.values()):
            continue
        member = FamilyMember(student_id=student_id, slot=slot)
        for f, v in values.items():
            setattr(member, f, "" if v is None and f not in _MEMBER_NULLABLE else v)
        members.append(member)
    return members


def school_writers_queue(school_id: int) -> None:
    """Take the school's row lock of the live counts (student_index.live: FOR NO KEY
    UPDATE on tenants_school) first, before any row of the school is locked or written.

    Every write that touches the index takes that lock anyway, in index_upsert, late in
    its transaction, after rows of the school are locked (the student FOR UPDATE) and
    with the foreign keys still to be checked at COMMIT (Django's are deferred). Two
    writers of one school could then each hold what the other waits for: a registration
    at COMMIT checking its keys, an edit waiting for the school row (the term-start load,
    bench/load.py, deadlocked so within seconds). Queued on the school row first, they
    take turns from the start; the later lock in the same transaction is already held.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM public.tenants_school WHERE id = %s FOR NO KEY UPDATE", [school_id]
        )


def class_map() -> dict[str, int]:
    return dict(SchoolClass.objects.values_list("class_no", "id"))


# -- 学籍辅号 lock (bureau.renumber) ---------------------------------------------------

MSG_AUX_LOCKED = (
    "{grade}的学籍辅号已由县教育局统一编排并锁定，不能修改；如需更正请联系县教育局解锁。"
)


def aux_number_locked(stage: str, entry_year: int) -> bool:
    """Whether the county of the current school has locked this grade's 学籍辅号 (the
    bureau answers through facade.hooks: the registry may not import it)."""
    from tenant_apps.registry.facade.hooks import aux_grade_locked
    from tenants.models import School

    county = (
        School.objects.filter(schema_name=connection.schema_name)
        .values_list("county_id", flat=True)
        .first()
    )
    return bool(county) and aux_grade_locked(
        county_id=str(county), stage=stage, entry_year=entry_year
    )


def aux_number_refuse_locked(changes: Iterable[tuple[str, str, str]]) -> None:
    """Refuse (label, class_no, new 辅号) writes that set a 辅号 in a locked grade;
    `label` names the row or student in the message."""
    grades = {c.class_no: (c.stage, c.entry_year, c.grade_name) for c in SchoolClass.objects.all()}
    locked: dict[tuple[str, int], bool] = {}
    for label, class_no, _new in changes:
        if class_no not in grades:
            continue
        stage, year, grade = grades[class_no]
        if (stage, year) not in locked:
            locked[(stage, year)] = aux_number_locked(stage, year)
        if locked[(stage, year)]:
            message = MSG_AUX_LOCKED.format(grade=grade)
            raise ApplicationError(
                f"{label}：{message}" if label else message,
                code="locked",
                extra={"aux_number": [message]},
            )


# -- the county's admitted list (rosters.admissions, through facade.hooks) -------------

MSG_NOT_ADMITTED = (
    "{field}{value}不在县招生系统的{intake}录取名单中，不能注册。"
    "请核对录取名单，或请县教育局为该生开具例外。"
)


def admission_error(data: dict[str, Any], intake: str) -> tuple[str, str, str, str]:
    """(field key, header, shown value, message) refusing a new intake pupil the county's
    admitted list lacks: named by its ID number (masked), else by name, sex and birth."""
    if data.get("id_number"):
        key, header, value = "id_number", "身份证件号", mask_id_number(str(data["id_number"]))
    else:
        birth = data.get("birth_date")
        sex = {"1": "男", "2": "女"}.get(str(data.get("sex") or ""), "")
        born = birth.strftime("%Y-%m-%d") if isinstance(birth, dt.date) else ""
        key, header = "name", "姓名"
        value = "，".join(v for v in (str(data.get("name") or ""), sex, born) if v)
    message = MSG_NOT_ADMITTED.format(field=header, value=f"“{value}”", intake=intake)
    return key, header, value, message


def admission_refuse(data: dict[str, Any], keys: IdentityKeys) -> None:
    """Refuse registering a pupil of an intake whose admitted list lacks it (no list for
    its intake, or the county's exception for it: allowed)."""
    from tenant_apps.registry.facade.hooks import admission_refusal

    refusal = admission_refusal()
    intake = refusal(data.get("class_no"), keys) if refusal is not None else None
    if intake:
        key, _header, _value, message = admission_error(data, intake)
        raise ApplicationError(message, code="not_admitted", extra={key: [message]})


# -- single entry -------------------------------------------------------------------


def record_date(student: Student) -> dt.date:
    """The date an existing record's division codes are judged at (domain.md §2.2): the
    first day of its stored 入学年月, or the day it was entered here if that is earlier
    (pupils are registered over the summer before they start). A code abolished after
    this date stays acceptable on the record; new records need a current code."""
    created = timezone.localdate(student.created_at)
    ym = student.entry_year_month
    if len(ym) == 6 and ym.isdigit() and 1 <= int(ym[4:]) <= 12:
        return min(dt.date(int(ym[:4]), int(ym[4:]), 1), created)
    return created


def _validated(raw: dict[str, Any], *, on: dt.date | None = None) -> dict[str, Any]:
    """`on`: the record_date of the record being edited, None for a new one."""
    from tenant_apps.registry.validation.rows import RowValidator

    result = RowValidator(class_nos=set(class_map()), record_date=on).validate(raw)
    if result.errors:
        fields: dict[str, list[str]] = {}
        for e in result.errors:
            fields.setdefault(e.key, []).append(e.message)
        raise ApplicationError(MSG_INVALID, code="invalid", extra=fields)
    return result.data


def _check_duplicates(
    keys: IdentityKeys, *, exclude: uuid.UUID | None, message: str = MSG_DUPLICATE
) -> list[dict[str, str]]:
    """Raise on a duplicate ID anywhere (`message` naming the others, masked); return
    masked summaries of suspected matches."""
    hits = duplicates_find([keys], exclude=[exclude])
    summaries = masked_for_hits(hits)
    duplicates = [
        summaries[h.student_uuid]
        for h in hits
        if h.kind == "duplicate" and h.student_uuid in summaries
    ]
    if duplicates:
        text = "；".join(
            f"{d['school_name']} {d['name']} {d['id_number']}（{d['status']}）" for d in duplicates
        )
        raise ApplicationError(
            message.format(others=text),
            code="duplicate",
            extra={"id_number": [message.format(others=text)]},
        )
    return [
        summaries[h.student_uuid] | {"rule": h.rule}
        for h in hits
        if h.kind == "suspected" and h.student_uuid in summaries
    ]


@transaction.atomic(durable=True)
def student_register(*, raw: dict[str, Any], actor: Actor) -> Student:
    """One new student (新增): validate, 查重, write student, family, history and index.

    A duplicate ID number anywhere blocks the registration; a suspected duplicate is
    registered as a 问题学籍 for review.
    """
    school = current_school()
    school_writers_queue(school.id)
    data = _validated(raw)
    keys = keys_of(data)
    admission_refuse(data, keys)
    suspected = _check_duplicates(keys, exclude=None)
    student = Student()
    _apply(student, data, class_map())
    if student.aux_number:
        aux_number_refuse_locked([("", data["class_no"], student.aux_number)])
    student.number_kind = Student.NumberKind.TEMPORARY
    student.national_number = temporary_numbers(school.area, [student.birth_date])[0]
    student.audit_state = Student.Audit.PROBLEM if suspected else Student.Audit.DRAFT
    student.save()
    FamilyMember.objects.bulk_create(_members(student.pk, data))
    event_add([student.pk], actor=actor, action="新增", to_state=student.audit_state)
    if suspected:
        ProblemRecord.objects.create(
            student=student, kind=ProblemRecord.Kind.SUSPECTED, others=suspected
        )
    index_upsert(school_id=school.id, records=[index_record(student, keys)])
    return student


EDITABLE_STATES = {Student.Audit.DRAFT, Student.Audit.PROBLEM, Student.Audit.REGISTERED}


@transaction.atomic(durable=True)
def student_update(
    *, student_id: int, raw: dict[str, Any], actor: Actor, editable: set[str] | None = None
) -> Student:
    """Edit with the same rules; the history keeps every changed value, before and after.
    With `editable` (a class teacher's open fields, registry.policy.rules) any other changed
    value refuses the whole edit."""
    school_writers_queue(current_school().id)
    student = Student.objects.select_for_update().filter(pk=student_id).first()
    if student is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if student.audit_state not in EDITABLE_STATES:
        raise ApplicationError("该学生正在审核中，审核结束前不能修改。", code="state")
    # Judged at the stored record's date, not the edited 入学年月: moving the date back must
    # not make an abolished code acceptable.
    data = _validated(raw, on=record_date(student))
    keys = keys_of(data)
    suspected = _check_duplicates(keys, exclude=student.identifier)
    before = student_snapshot(student)
    before_own = _own_values(student)
    old_class_no = before["class_no"]
    if student.audit_state == Student.Audit.REGISTERED and data["class_no"] != old_class_no:
        _refuse_class_edit(old_class_no, data["class_no"])
    _apply(student, data, class_map())
    if student.audit_state == Student.Audit.REGISTERED:
        # Past both audits, 姓名/身份证件号/性别/出生日期 (and the province's own key
        # fields) change only through 关键数据变更 (domain §3.19).
        from tenant_apps.registry.keydata.services import key_fields_refuse

        key_fields_refuse(before, {k: getattr(student, k, None) for k in before})
    if student.aux_number != before_own["aux_number"]:
        # Neither the grade it leaves nor the one it enters may be locked.
        aux_number_refuse_locked(
            [("", old_class_no, student.aux_number), ("", data["class_no"], student.aux_number)]
        )
    if suspected and student.audit_state == Student.Audit.DRAFT:
        student.audit_state = Student.Audit.PROBLEM
        ProblemRecord.objects.create(
            student=student, kind=ProblemRecord.Kind.SUSPECTED, others=suspected
        )
    student.save()
    FamilyMember.objects.filter(student=student).delete()
    FamilyMember.objects.bulk_create(_members(student.pk, data))
    after = student_snapshot(student)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if editable is not None:
        _refuse_locked(before | before_own, after | _own_values(student), editable)
    event_add([student.pk], actor=actor, action="修改", changes=changes)
    index_upsert(school_id=current_school().id, records=[index_record(student, keys)])
    return student


MSG_LOCKED = "您无权修改以下字段：{headers}。"
MSG_GRADE_EDIT = (
    "已注册学生不能直接修改年级：升入高一年级请办理“跳级”，降入低一年级请办理“留级”"
    "（学籍异动，学校和教育局审核）。"
)
MSG_CLASS_EDIT = "已注册学生不能直接修改班级：同一年级内换班请办理“调班”（学籍异动，学校审核）。"


def _refuse_class_edit(old_class_no: str, new_class_no: str) -> None:
    """A registered record changes class or grade only through an approved status change
    (调班, 跳级, 留级: registry.changes); a record not yet registered (待提交, 问题学籍) is
    still the school's draft and may be put into any class."""
    grades = {
        c.class_no: (c.stage, c.entry_year)
        for c in SchoolClass.objects.filter(class_no__in=[old_class_no, new_class_no])
    }
    same_grade = grades.get(old_class_no) == grades.get(new_class_no)
    message = MSG_CLASS_EDIT if same_grade else MSG_GRADE_EDIT
    raise ApplicationError(message, code="state", extra={"class_no": [message]})


def _own_values(student: Student) -> dict[str, Any]:
    """Registry attributes the snapshot leaves out but a class teacher must not change."""
    return {"number_in_class": student.number_in_class, "aux_number": student.aux_number}


def _refuse_locked(before: dict[str, Any], after: dict[str, Any], editable: set[str]) -> None:
    """Raise when a value outside `editable` changed (an absent value equals a blank one:
    a new family member's empty columns are not changes)."""

    def norm(value: Any) -> Any:
        return "" if value is None else value

    changed = {k for k in set(before) | set(after) if norm(before.get(k)) != norm(after.get(k))}
    order = {c.key: n for n, c in enumerate(COLUMNS)}
    locked = sorted(changed - editable, key=lambda k: (order.get(k, len(order)), k))
    if locked:
        headers = "、".join(BY_KEY[k].header if k in BY_KEY else k for k in locked)
        raise ApplicationError(
            MSG_LOCKED.format(headers=headers),
            code="permission_denied",
            extra={k: ["学校未开放此项给班主任修改。"] for k in locked},
        )


def student_snapshot(student: Student) -> dict[str, Any]:
    values = {
        "name": student.name,
        "sex": student.sex,
        "birth_date": str(student.birth_date),
        "id_number": student.id_number,
        "class_no": student.school_class.class_no if student.school_class_id else "",
        "entry_year_month": student.entry_year_month,
    }
    for key in STUDENT_FIELDS:
        value = getattr(student, key)
        values[key] = value if isinstance(value, (str, bool, int)) or value is None else str(value)  # type: ignore[assignment]
    # Family members belong to the record: their edits show in the history too.
    for member in student.family.all():
        for field in MEMBER_FIELDS:
            value = getattr(member, field)
            values[f"m{member.slot}_{field}"] = (
                value if isinstance(value, (str, bool, int)) or value is None else str(value)  # type: ignore[assignment]
            )
    return values


def students_in(states: Iterable[str]) -> QuerySet[Student]:
    return Student.objects.filter(audit_state__in=list(states))


def now() -> dt.datetime:
    return timezone.now()
