"""Junior-middle intake (初中新生档案迁移, domain.md §3.9–3.10), run by the junior school.

How a school finds a primary graduate (§3.9's table):

* same county: name + 学籍辅号 (this county's numbering, bureau.renumber) or name + ID;
* other counties: name + ID number (the index's keyed hash of the ID);
* outside the platform: by national number; a student found nowhere is entered through
  the registry's single entry and registered with evidence (省外转入 in transfers, or
  异地离校生转入 / 其他增加 below, which need a written explanation file).

A found graduate moves in as a new grade-7 student in the chosen class through the
business-case engine: Case kind INTAKE, chain receiving county bureau (→ the graduate's
county bureau when it is another county; §3.9 "not needed within one county"); the
last approval copies the record with facade.student_move in the same transaction. One by
one, or a whole uploaded list in one batch with a result per row.

A child without an ID number gets a temporary paper record (PaperRecord, PAPER_ONLY);
it stays on the reminder list until the record is entered and linked ("complete").
Reads of other schools return frozen dataclasses only (architecture.md).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from stdnum.cn import ric

from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_name
from tenant_apps.registry.facade import (
    Peek,
    lookup_keys_check,
    national_peeks,
    peek_records,
    same_name,
    student_blockers_locked,
)
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.registry.models.lifecycle import PaperRecord
from tenant_apps.registry.problems.services import evidence_save
from tenants.context import school_context

MAX_EXPLANATION_BYTES = 2 * 1024 * 1024
MAX_LIST_ROWS = 2000
MAX_LIST_BYTES = 5 * 1024 * 1024

MSG_NEED_NAME = "跨校查找须同时输入学生姓名：只凭学籍辅号、身份证件号或全国学籍号不能查找。"
MSG_NEED_NAME_KEY = "请输入学生姓名，以及学籍辅号、身份证件号或全国学籍号之一。"
MSG_NEED_KEY = "请输入学籍辅号、身份证件号或全国学籍号之一。"
MSG_BAD_ID = "身份证件号格式不正确（18位，最后一位可为X），请核对。"
MSG_AUX_COUNTY = "学籍辅号只在本县（市、区）内查找；外县学生请用姓名和身份证件号查找。"
MSG_CLASS = "请选择{year}级七年级（初中）的班级。"
MSG_NOT_GRADUATE = "该学生不是小学毕业生（当前：{what}），不能作为初中新生接收。"
MSG_OWN = "该学生的学籍已在本校。"
MSG_NOT_FOUND = "未找到该学生。"
MSG_EXPLANATION = "请上传书面说明（JPG、PNG或PDF，不超过2MB）。"
MSG_EXPLANATION_SIZE = "书面说明文件不能超过2MB。"
MSG_REASON = "请填写情况说明。"
MSG_NEW_STATE = "只有刚录入、待提交的学生可以登记{label}（该生当前：{state}）。"
MSG_NEW_CLASS = "{label}的学生须在七年级（初中{year}级）班级中录入。"

NEW_KINDS = {
    "INTAKE_LEFT_ELSEWHERE": "异地离校生转入",
    "INTAKE_OTHER": "其他增加",
}
ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


def intake_year(today: dt.date | None = None) -> int:
    """The entry year of this intake's grade 7: from 1 July the coming September."""
    today = today or timezone.localdate()
    return today.year if today.month >= 7 else today.year - 1


def _here() -> tuple[int, str, str]:
    """(id, name, county code) of the current school."""
    from tenants.models import School

    row = (
        School.objects.filter(schema_name=connection.schema_name)
        .values_list("pk", "name", "county_id")
        .first()
    )
    if row is None:
        raise ApplicationError("当前不在学校域名下。", code="not_found")
    return int(row[0]), str(row[1]), str(row[2] or "")


def _normal_id(value: str) -> str:
    text = value.strip().upper().replace(" ", "")
    if not text:
        return ""
    if not ID_PATTERN.match(text) or ric.calc_check_digit(text[:17] + "0") != text[17]:
        raise ApplicationError(MSG_BAD_ID, code="invalid", extra={"id_number": [MSG_BAD_ID]})
    return text


# -- lookup ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeHit:
    """A record of another school as the junior school may see it (masked)."""

    school_id: int
    school_name: str
    student_uuid: str
    name: str
    id_number: str
    class_name: str
    status: str
    same_county: bool
    eligible: bool
    why: str  # why not eligible

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _why_not(p: Peek) -> str:
    if p.stage != "primary" or p.status != Student.Status.GRADUATED:
        what = f"{p.class_name}，{p.status_label}"
        return MSG_NOT_GRADUATE.format(what=what)
    if p.audit_state != Student.Audit.REGISTERED:
        return "该学生学籍尚未注册，请原小学先完成注册。"
    return ""


def intake_lookup(
    *, name: str, id_number: str = "", aux_number: str = "", national_number: str = ""
) -> list[IntakeHit]:
    """Primary records matching one of §3.9's rules, searched from the current (junior)
    school, always by the name together with a number (facade.lookup_keys_check).
    The 学籍辅号 is a county's own numbering, so it is looked up only in this county's
    schools; the ID number everywhere through the index; a national number as a
    national number (facade.national_peeks), never as the ID inside a G number."""
    from shared_apps.student_index.keys import digest
    from shared_apps.student_index.selectors import index_holders
    from tenants.models import School

    name = name.strip()
    aux = aux_number.strip()
    national = national_number.strip().upper()
    if not name:
        message = MSG_NEED_NAME if (id_number.strip() or aux or national) else MSG_NEED_NAME_KEY
        raise ApplicationError(message, code="invalid", extra={"name": [message]})
    id_number = _normal_id(id_number)
    if not (id_number or aux or national):
        raise ApplicationError(MSG_NEED_KEY, code="invalid")
    lookup_keys_check(
        name=name,
        numbers={"id_number": id_number, "aux_number": aux, "national_number": national},
    )
    here_id, _here_name, county = _here()
    schools = {
        pk: (schema, sname, scounty)
        for pk, schema, sname, scounty in School.objects.serving().values_list(
            "pk", "schema_name", "name", "county_id"
        )
    }
    peeks: list[tuple[int, Peek]] = []
    if id_number:
        by_school: dict[int, list[uuid.UUID]] = {}
        for sid, suuid in index_holders(id_hash=digest("id:" + id_number), stage="primary"):
            by_school.setdefault(sid, []).append(suuid)
        for sid, uuids in by_school.items():
            if sid in schools:
                peeks += [(sid, p) for p in peek_records(schools[sid][0], identifier__in=uuids)]
    if aux:
        for sid, (schema, _n, scounty) in schools.items():
            if scounty == county:
                peeks += [(sid, p) for p in peek_records(schema, aux_number=aux)]
    if national and not (id_number or aux):
        peeks += national_peeks(national, {sid: v[0] for sid, v in schools.items()})
    hits: dict[str, IntakeHit] = {}
    for sid, p in peeks:
        if not same_name(p.name, name):
            continue
        if national and p.national_number and p.national_number != national:
            continue
        why = MSG_OWN if sid == here_id else _why_not(p)
        hits[str(p.identifier) + str(sid)] = IntakeHit(
            school_id=sid,
            school_name=schools[sid][1],
            student_uuid=str(p.identifier),
            name=mask_name(p.name),
            id_number=mask_id_number(p.id_number),
            class_name=p.class_name,
            status=p.status_label,
            same_county=schools[sid][2] == county,
            eligible=not why,
            why=why,
        )
    return list(hits.values())


# -- one student -------------------------------------------------------------------------


def intake_classes(today: dt.date | None = None) -> list[SchoolClass]:
    """The current school's grade-7 classes of this intake."""
    return list(SchoolClass.objects.filter(stage="junior", entry_year=intake_year(today)))


def _target_class(target_class_id: object, today: dt.date | None = None) -> SchoolClass:
    year = intake_year(today)
    klass = (
        SchoolClass.objects.filter(pk=target_class_id, stage="junior", entry_year=year).first()  # type: ignore[misc]
        if str(target_class_id or "").isdigit()
        else None
    )
    if klass is None:
        message = MSG_CLASS.format(year=year)
        raise ApplicationError(message, code="invalid", extra={"target_class": [message]})
    return klass


def intake_chain(*, receiving_id: int, sending_id: int) -> list[dict[str, Any]]:
    """§3.9: the receiving county bureau verifies; the graduate's county bureau too when
    it is another county (not needed within one county)."""
    from shared_apps.transfers.services import bureau_step, school_ref

    receiving, sending = school_ref(receiving_id), school_ref(sending_id)
    chain = [bureau_step(receiving.county, "初中所在地教育行政部门审核")]
    if sending.county != receiving.county:
        chain.append(bureau_step(sending.county, "小学所在地教育行政部门审核"))
    return chain


@transaction.atomic
def intake_apply(
    *,
    actor: Actor,
    school_id: int,
    student_uuid: uuid.UUID | str,
    target_class_id: object,
    note: str = "",
    via: str = "",
) -> Any:
    """The junior school (current schema) applies to take a primary graduate of
    another platform school into a grade-7 class. Preconditions are the registry's
    blockers for INTAKE, read in the primary school under the student's row lock."""
    from shared_apps.student_index.selectors import index_holds
    from shared_apps.transfers.models import CaseKind
    from shared_apps.transfers.services import case_open, school_ref
    from tenants.models import School

    receiving_id, receiving_name, _county = _here()
    klass = _target_class(target_class_id)
    target = (klass.pk, klass.name)
    try:
        identifier = uuid.UUID(str(student_uuid))
        sending_id = int(school_id)
    except (TypeError, ValueError) as exc:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found") from exc
    if sending_id == receiving_id:
        raise ApplicationError(MSG_OWN, code="invalid")
    if not index_holds(student_uuid=identifier, school_id=sending_id):
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    schema = School.objects.serving().filter(pk=sending_id).values_list("schema_name", flat=True)
    if not schema:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    peek, problems = student_blockers_locked(
        schema_name=schema[0], identifier=identifier, kind="INTAKE"
    )
    why = _why_not(peek)
    if why:
        raise ApplicationError(why, code="blocked")
    if problems:
        raise ApplicationError("不能接收：" + "；".join(problems), code="blocked")
    sending = school_ref(sending_id)
    return case_open(
        kind=CaseKind.INTAKE,
        school_id=receiving_id,
        other_school_id=sending_id,
        student_uuid=identifier,
        summary={
            "name": mask_name(peek.name),
            "id_number": mask_id_number(peek.id_number),
            "school": sending.name,
            "class": peek.class_name,
            "status": peek.status_label,
        },
        chain=intake_chain(receiving_id=receiving_id, sending_id=sending_id),
        created_by=f"{actor.username}@{actor.schema}",
        payload={
            "target_class_id": target[0],
            "target_class": target[1],
            "sending_school": sending.name,
            "receiving_school": receiving_name,
            "note": note.strip()[:300],
            "via": via[:20],
            "applied_on": timezone.localdate().isoformat(),
        },
    )


def intake_complete(case: Any) -> None:
    """The last approval: copy the graduate's record into the junior school's class
    (facade.student_move, same transaction), then start the junior stage: 入学年月 of the
    class's September; the primary 学籍辅号 does not carry over (each stage is numbered
    by the county, §2.2)."""
    from tenant_apps.registry.facade import plan_for, student_move
    from tenant_apps.registry.models import StudentEvent
    from tenants.models import School

    if case.other_school_id is None or case.student_uuid is None:
        raise ApplicationError("业务数据不完整，不能办结。", code="move")
    last = case.steps.order_by("-at", "-id").first()
    actor_label = last.actor if last else case.created_by
    plan = plan_for(
        identifier=case.student_uuid,
        sending_id=case.other_school_id,
        receiving_id=case.school_id,
        target_class_id=int(case.payload["target_class_id"]),
        actor_label=actor_label,
        note=f"初中新生档案迁移（{case.number}）",
        kind="INTAKE",
    )
    result = student_move(plan)
    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True)[0]
    with school_context(schema):
        student = Student.objects.select_related("school_class").get(pk=result.new_student_id)
        entry = f"{student.school_class.entry_year}09"
        changes = {
            "entry_year_month": [student.entry_year_month, entry],
            "aux_number": [student.aux_number, ""],
        }
        Student.objects.filter(pk=student.pk).update(entry_year_month=entry, aux_number="")
        StudentEvent.objects.create(
            student_id=student.pk,
            actor=actor_label[:80],
            action="初中入学",
            reason=case.number,
            changes={k: v for k, v in changes.items() if v[0] != v[1]},
        )
    case.payload = {**case.payload, "moved_on": timezone.localdate().isoformat()}


def intake_detail(case: Any) -> list[tuple[str, str]]:
    p = case.payload
    lines = [
        ("原毕业学校", str(p.get("sending_school", ""))),
        ("接收学校", str(p.get("receiving_school", ""))),
        ("编入班级", str(p.get("target_class", ""))),
    ]
    if p.get("note"):
        lines.append(("说明", str(p["note"])))
    if p.get("moved_on"):
        lines.append(("迁移日期", str(p["moved_on"])))
    return lines


# -- a list in one batch -------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    row: int  # row number in the file (Excel's)
    name: str
    key: str  # masked ID number or the 辅号 as given
    ok: bool
    message: str
    case_number: str = ""


_HEADERS = {
    "name": ("姓名", "学生姓名"),
    "id_number": ("身份证件号", "身份证号", "身份证号码", "证件号码", "身份证件号码"),
    "aux_number": ("学籍辅号", "辅号"),
}


def _cell(cells: list[str], pos: int | None) -> str:
    """One cell as typed (Excel's whole numbers lose their ".0")."""
    if pos is None or pos >= len(cells):
        return ""
    value = cells[pos]
    return value[:-2] if value.endswith(".0") and value[:-2].isdigit() else value


def _list_rows(*, filename: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number, {name, id_number, aux_number}) of an uploaded xlsx/xls/csv list."""
    from tenant_apps.registry.imports.columns import UploadRejected
    from tenant_apps.registry.imports.reader import _grid
    from tenant_apps.registry.imports.sniff import upload_sniff

    try:
        fmt = upload_sniff(name=filename, data=data, max_bytes=MAX_LIST_BYTES)
        grid = _grid(data, fmt)
        found: list[tuple[int, dict[str, str]]] = []
        columns: dict[str, int] | None = None
        for number, raw in enumerate(grid, 1):
            cells = ["" if v is None else str(v).strip() for v in raw]
            if columns is None:
                columns = {
                    key: cells.index(h)
                    for key, names in _HEADERS.items()
                    for h in names
                    if h in cells
                }
                if "name" not in columns:
                    columns = None
                    if number >= 10:
                        break
                continue
            if not any(cells):
                continue
            found.append((number, {k: _cell(cells, columns.get(k)) for k in _HEADERS}))
            if len(found) > MAX_LIST_ROWS:
                raise ApplicationError(f"名单超过{MAX_LIST_ROWS}行，请分成几个文件上传。")
    except UploadRejected as exc:
        raise ApplicationError(exc.message, code="upload", extra={"file": [exc.message]}) from exc
    if columns is None:
        message = "没有找到表头：第一行应有“姓名”列，以及“身份证件号”或“学籍辅号”列。"
        raise ApplicationError(message, code="upload", extra={"file": [message]})
    if not found:
        raise ApplicationError("名单是空的。", code="upload", extra={"file": ["名单是空的。"]})
    return found


def intake_batch(
    *, actor: Actor, filename: str, data: bytes, target_class_id: object, note: str = ""
) -> list[BatchRow]:
    """Every row of an uploaded list looked up and, when exactly one eligible graduate
    matches, applied for; each row on its own (a bad row does not stop the others)."""
    klass = _target_class(target_class_id)
    rows = _list_rows(filename=filename, data=data)
    results: list[BatchRow] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        name, id_number, aux = cells["name"], cells["id_number"], cells["aux_number"]
        shown = mask_id_number(id_number.upper()) if id_number else aux
        try:
            if not name:
                raise ApplicationError("姓名为空。")
            if not (id_number or aux):
                raise ApplicationError("身份证件号和学籍辅号都为空，请至少填写一项。")
            hits = intake_lookup(name=name, id_number=id_number, aux_number=aux)
            eligible = [h for h in hits if h.eligible]
            if not hits:
                raise ApplicationError(
                    "未找到该学生。" + (MSG_AUX_COUNTY if aux and not id_number else "")
                )
            if not eligible:
                raise ApplicationError(hits[0].why)
            if len(eligible) > 1:
                raise ApplicationError("找到多名学生，请改用姓名和身份证件号逐个查找。")
            hit = eligible[0]
            if hit.student_uuid in seen:
                raise ApplicationError(f"与第{seen[hit.student_uuid]}行是同一名学生。")
            seen[hit.student_uuid] = number
            with transaction.atomic():
                case = intake_apply(
                    actor=actor,
                    school_id=hit.school_id,
                    student_uuid=hit.student_uuid,
                    target_class_id=klass.pk,
                    note=note,
                    via="list",
                )
        except ApplicationError as exc:
            results.append(BatchRow(number, name, shown, False, exc.message))
        else:
            results.append(
                BatchRow(
                    number,
                    name,
                    shown,
                    True,
                    f"已提交（{hit.school_name}，{hit.class_name}）",
                    case.number,
                )
            )
    return results


# -- 异地离校生转入 and 其他增加 ----------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def _explanation_check(upload: Upload | None) -> str:
    from tenant_apps.registry.problems.services import evidence_check

    if upload is None or not upload.data:
        raise ApplicationError(MSG_EXPLANATION, code="upload", extra={"file": [MSG_EXPLANATION]})
    if len(upload.data) > MAX_EXPLANATION_BYTES:
        raise ApplicationError(
            MSG_EXPLANATION_SIZE, code="upload", extra={"file": [MSG_EXPLANATION_SIZE]}
        )
    return evidence_check(name=upload.name, data=upload.data)


def intake_register_new(
    *, actor: Actor, kind: str, student_id: int, reason: str, explanation: Upload | None
) -> Any:
    """A grade-7 student who is no platform graduate, just entered through the single
    entry (a draft): 异地离校生转入 (left a school in the province without graduating) or
    其他增加 (never registered). The written explanation is required; the case goes
    school approver → county bureau, whose approval registers the record. The file is
    stored first and removed again if the write fails."""
    if kind not in NEW_KINDS:
        raise ApplicationError("请选择增加类型。", code="invalid", extra={"kind": ["请选择。"]})
    if not reason.strip():
        raise ApplicationError(MSG_REASON, code="invalid", extra={"reason": [MSG_REASON]})
    content_type = _explanation_check(explanation)
    assert explanation is not None
    key = evidence_save(
        f"intake/{timezone.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}",
        explanation.data,
        content_type,
    )
    try:
        with transaction.atomic():
            return _register_new(
                actor, kind, student_id, reason.strip(), key, explanation.name, content_type
            )
    except BaseException:
        default_storage.delete(key)
        raise


def _register_new(
    actor: Actor,
    kind: str,
    student_id: int,
    reason: str,
    key: str,
    original_name: str,
    content_type: str,
) -> Any:
    from shared_apps.transfers.services import case_open, chain_in_school
    from tenant_apps.registry.students.services import event_add

    label = NEW_KINDS[kind]
    student = (
        Student.objects.select_for_update()
        .select_related("school_class")
        .filter(pk=student_id)
        .first()
    )
    if student is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    if student.audit_state != Student.Audit.DRAFT:
        raise ApplicationError(
            MSG_NEW_STATE.format(label=label, state=student.get_audit_state_display()),
            code="state",
        )
    klass = student.school_class
    if klass.stage != "junior" or klass.entry_year != intake_year():
        raise ApplicationError(MSG_NEW_CLASS.format(label=label, year=intake_year()), code="state")
    school_id, school_name, _county = _here()
    chain = chain_in_school(school_id)
    chain[0]["label"] = "接收学校审核"
    event_add([student.pk], actor=actor, action=f"{label}登记", reason=reason[:300])
    from shared_apps.transfers.models import CaseKind

    return case_open(
        kind=CaseKind(kind),
        school_id=school_id,
        student_uuid=student.identifier,
        summary={
            "name": mask_name(student.name),
            "id_number": mask_id_number(student.id_number),
            "school": school_name,
            "class": klass.name,
            "status": student.get_status_display(),
        },
        chain=chain,
        created_by=f"{actor.username}@{actor.schema}",
        payload={
            "reason": reason[:300],
            "evidence_key": key,
            "evidence_name": original_name[:200],
            "evidence_type": content_type,
            "receiving_school": school_name,
            "target_class": klass.name,
            "applied_on": timezone.localdate().isoformat(),
        },
    )


def intake_new_complete(case: Any) -> None:
    """The county's approval registers the record and assigns its formal number."""
    from tenant_apps.registry.facade import register_on_approval
    from tenants.models import School

    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True)[0]
    last = case.steps.order_by("-at", "-id").first()
    who = (last.actor if last else case.created_by).split("@")[0]
    if case.student_uuid is None:
        raise ApplicationError("该学生已被删除，不能办结。", code="move")
    if register_on_approval(
        schema_name=schema,
        identifier=case.student_uuid,
        actor=Actor(username=who, name=who, schema="public"),
        action=f"{NEW_KINDS.get(case.kind, '')}审核通过",
        reason=case.number,
    ):
        case.payload = {**case.payload, "registered_on": timezone.localdate().isoformat()}


def intake_new_detail(case: Any) -> list[tuple[str, str]]:
    p = case.payload
    return [
        ("编入班级", str(p.get("target_class", ""))),
        ("情况说明", str(p.get("reason", ""))),
        ("书面说明", str(p.get("evidence_name", ""))),
    ]


def register_intake() -> None:
    from shared_apps.transfers.models import CaseKind
    from shared_apps.transfers.services import register_completion, register_detail

    register_completion(CaseKind.INTAKE, intake_complete)
    register_detail(CaseKind.INTAKE, intake_detail)
    for kind in NEW_KINDS:
        register_completion(kind, intake_new_complete)
        register_detail(kind, intake_new_detail)


def drafts_for_new(today: dt.date | None = None) -> list[Student]:
    """Drafts in grade-7 classes without an open case: candidates for 异地离校生转入 and
    其他增加 (entered through 新增学生 first)."""
    from shared_apps.transfers.selectors import cases_open_for

    students = list(
        Student.objects.filter(
            audit_state=Student.Audit.DRAFT,
            school_class__stage="junior",
            school_class__entry_year=intake_year(today),
        ).select_related("school_class")[:500]
    )
    busy = cases_open_for(s.identifier for s in students)
    return [s for s in students if s.identifier not in busy]


# -- temporary paper records (无身份证号, §3.10) --------------------------------------------


@dataclass(frozen=True)
class PaperInput:
    name: str
    sex: str
    birth_date: str  # YYYYMMDD
    class_id: object
    guardian_name: str
    guardian_phone: str
    note: str = ""


def paper_create(*, data: PaperInput, actor: Actor) -> PaperRecord:
    """Open a temporary paper record for a child admitted without an ID number."""
    errors: dict[str, list[str]] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = ["请填写姓名。"]
    if data.sex not in Student.Sex.values:
        errors["sex"] = ["请选择性别。"]
    birth: dt.date | None = None
    try:
        text = data.birth_date.strip()
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError
        birth = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if birth > timezone.localdate():
            raise ValueError
    except ValueError:
        errors["birth_date"] = ["出生日期填8位数字，如20130905。"]
    klass = (
        SchoolClass.objects.filter(pk=data.class_id).first()  # type: ignore[misc]
        if str(data.class_id or "").isdigit()
        else None
    )
    if klass is None:
        errors["class_id"] = ["请选择班级。"]
    if not data.guardian_name.strip():
        errors["guardian_name"] = ["请填写监护人姓名。"]
    if not re.fullmatch(r"[\d\-+ ]{7,20}", data.guardian_phone.strip()):
        errors["guardian_phone"] = ["请填写监护人电话。"]
    if errors:
        raise ApplicationError("请按提示补全临时档案信息。", code="invalid", extra=errors)
    return PaperRecord.objects.create(  # type: ignore[misc]
        name=name,
        sex=data.sex,
        birth_date=birth,
        school_class=klass,
        guardian_name=data.guardian_name.strip(),
        guardian_phone=data.guardian_phone.strip(),
        note=data.note.strip()[:300],
        created_by=actor.label,
    )


def paper_reminders(today: dt.date | None = None) -> list[dict[str, Any]]:
    """Open paper records, oldest first, with how long each has waited."""
    today = today or timezone.localdate()
    return [
        {"record": r, "days": (today - timezone.localtime(r.created_at).date()).days}
        for r in PaperRecord.objects.filter(state=PaperRecord.State.OPEN)
        .select_related("school_class")
        .order_by("created_at")
    ]


@transaction.atomic
def paper_complete(*, record_id: int, id_number: str, actor: Actor) -> PaperRecord:
    """Link the registry record entered once the ID number exists (新增学生): same
    school, same name and birth date, not deleted. The student's history notes it."""
    from tenant_apps.registry.students.services import event_add

    record = PaperRecord.objects.select_for_update().filter(pk=record_id).first()
    if record is None:
        raise ApplicationError("未找到该临时档案。", code="not_found")
    if record.state != PaperRecord.State.OPEN:
        raise ApplicationError("该临时档案已建立学籍。", code="state")
    number = _normal_id(id_number)
    if not number:
        raise ApplicationError(
            "请填写学生的身份证件号。", code="invalid", extra={"id_number": ["请填写。"]}
        )
    student = (
        Student.objects.exclude(audit_state=Student.Audit.DELETED).filter(id_number=number).first()
    )
    if student is None:
        message = "本校还没有该身份证件号的学籍：请先在“新增学生”中录入，再回到这里完成。"
        raise ApplicationError(message, code="not_found", extra={"id_number": [message]})
    if not same_name(student.name, record.name) or student.birth_date != record.birth_date:
        message = "该身份证件号的学生姓名或出生日期与临时档案不一致，请核对。"
        raise ApplicationError(message, code="invalid", extra={"id_number": [message]})
    record.state = PaperRecord.State.COMPLETED
    record.student = student
    record.completed_by, record.completed_at = actor.label, timezone.now()
    record.save(update_fields=["state", "student", "completed_by", "completed_at"])
    event_add(
        [student.pk],
        actor=actor,
        action="临时档案转为学籍",
        reason=f"临时纸质档案（{timezone.localtime(record.created_at):%Y-%m-%d}建立）",
    )
    return record
