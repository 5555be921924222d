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
last approval copies the record with facade.student_move in the same transaction. This
module holds the look-up and the case of one graduate; the sibling modules hold the rest of
the intake: a whole uploaded list in one batch with a result per row (intake_batch), the
two registrations with a written explanation (intake_new), and the temporary paper record
of a child without an ID number (paper).
Reads of other schools return frozen dataclasses only (architecture.md).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

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
from tenants.context import school_context

MSG_NEED_NAME = "跨校查找须同时输入学生姓名：只凭学籍辅号、身份证件号或全国学籍号不能查找。"
MSG_NEED_NAME_KEY = "请输入学生姓名，以及学籍辅号、身份证件号或全国学籍号之一。"
MSG_NEED_KEY = "请输入学籍辅号、身份证件号或全国学籍号之一。"
MSG_BAD_ID = "身份证件号格式不正确（18位，最后一位可为X），请核对。"
MSG_AUX_COUNTY = "学籍辅号只在本县（市、区）内查找；外县学生请用姓名和身份证件号查找。"
MSG_CLASS = "请选择{year}级七年级（初中）的班级。"
MSG_NOT_GRADUATE = "该学生不是小学毕业生（当前：{what}），不能作为初中新生接收。"
MSG_OWN = "该学生的学籍已在本校。"
MSG_NOT_FOUND = "未找到该学生。"

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
    _admission_refuse(klass.class_no, peek)
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


def _admission_refuse(class_no: str, peek: Peek) -> None:
    """A graduate taken into a grade-7 class whose intake has a county admitted list
    must be on it (or excepted by the county), as a new registration must (domain §3.9:
    统一招生 allots the list the junior school admits from; rosters.admissions). Matched
    by ID number only: the look-up reads no sex or birth date, and a graduate without an
    ID number is not checked here (§3.10: a temporary paper record)."""
    from shared_apps.student_index.keys import IdentityKeys, id_digest
    from tenant_apps.registry.facade.hooks import admission_refusal
    from tenant_apps.registry.students.services import admission_error

    if not peek.id_number:
        return
    refusal = admission_refusal()
    keys = IdentityKeys(id_hash=id_digest(peek.id_number), name_hash="", pinyin_hash="")
    intake = refusal(class_no, keys) if refusal is not None else None
    if intake:
        key, _header, _value, message = admission_error(
            {"id_number": peek.id_number, "name": peek.name}, intake
        )
        raise ApplicationError(message, code="not_admitted", extra={key: [message]})


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


def register_intake() -> None:
    """Fill the case engine's completion and detail hooks of the three intake kinds (called
    from the registry's AppConfig.ready())."""
    from shared_apps.transfers.models import CaseKind
    from shared_apps.transfers.services import register_completion, register_detail
    from tenant_apps.registry.lifecycle.intake_new import (
        NEW_KINDS,
        intake_new_complete,
        intake_new_detail,
    )

    register_completion(CaseKind.INTAKE, intake_complete)
    register_detail(CaseKind.INTAKE, intake_detail)
    for kind in NEW_KINDS:
        register_completion(kind, intake_new_complete)
        register_detail(kind, intake_new_detail)
