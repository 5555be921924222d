"""Transfers (转学): between platform schools, and with the outside (domain.md §3.6).

* Between platform schools the RECEIVING school starts: it finds the student across
  every school through the public index (name + ID number, or national number) and sees
  only a masked summary; it picks a class of the same grade and submits a reason. The
  case then walks the county rule's chain (services.chain_transfer); the last approval
  moves the record (move.student_move) inside the decision's transaction.
* Out to another province or system (TRANSFER_OUT_EXTERNAL): the sending school applies;
  school approver → county bureau, as every other status change that ends a record here
  (§3.5: the bureau approves status changes); completion marks the student 转学（转出）
  and numbers a transfer certificate (转学证明) per school and year.
* In from outside (TRANSFER_IN_EXTERNAL): the student is entered through the registry's
  single entry (validation, 查重, temporary number) and the transfer's proof is attached
  to a case school approver → county bureau, which is the registration audit for that
  record: completion registers it and assigns the formal number as the county's
  registration approval does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_name
from shared_apps.transfers.models import Case, CaseKind
from shared_apps.transfers.services import (
    case_open,
    chain_in_school,
    chain_transfer,
    counter_next,
    register_completion,
    register_detail,
    school_ref,
)
from tenants.context import school_context

MSG_LOOKUP_EMPTY = "请输入学生姓名，以及身份证件号或全国学籍号。"
MSG_LOOKUP_NAME = "跨校查找须同时输入学生姓名：只凭身份证件号或全国学籍号不能查找。"
MSG_LOOKUP_NATIONAL = "全国学籍号应为19位：G、L或J开头，后接18位。"
MSG_SAME_GRADE = "转学只能转入同年级：该生为{grade}，所选班级为{target}。"
MSG_OWN_SCHOOL = "该学生已在本校，不需要转学。"
MAX_EVIDENCE_BYTES = 2 * 1024 * 1024  # the national system's limit (domain.md §3.5)
MAX_COUNTY_SCHOOLS = 500  # L/J numbers: schools of the number's county searched at most


@dataclass(frozen=True)
class Found:
    """One record of another school, as the searching school may see it."""

    school_id: int
    school_name: str
    student_uuid: str
    name: str  # 张*三
    id_number: str  # 4301**********123X
    status: str
    grade: str
    class_name: str
    own_school: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "school_id": self.school_id,
            "school_name": self.school_name,
            "student_uuid": self.student_uuid,
            "name": self.name,
            "id_number": self.id_number,
            "status": self.status,
            "grade": self.grade,
            "class_name": self.class_name,
            "own_school": self.own_school,
        }


@dataclass(frozen=True)
class Peek:
    """What a lookup reads inside a school (full values): for transfers and intake
    (registry.lifecycle.intake) only, which mask it before anything leaves them."""

    identifier: uuid.UUID
    name: str
    id_number: str
    national_number: str
    status: str
    status_label: str
    audit_state: str
    stage: str
    entry_year: int
    grade: str
    class_name: str


def peek_records(schema: str, **lookup: Any) -> list[Peek]:
    """Up to 20 live records of that school matching the Student lookup."""
    from tenant_apps.registry.models import Student

    with school_context(schema):
        qs = (
            Student.objects.select_related("school_class")
            .exclude(audit_state=Student.Audit.DELETED)
            .filter(**lookup)
        )
        return [
            Peek(
                s.identifier,
                s.name,
                s.id_number,
                s.national_number,
                s.status,
                s.get_status_display(),
                s.audit_state,
                s.school_class.stage,
                s.school_class.entry_year,
                s.school_class.grade_name,
                s.school_class.name,
            )
            for s in qs[:20]
        ]


def same_name(a: str, b: str) -> bool:
    from shared_apps.student_index.keys import normalize_name

    return normalize_name(a) == normalize_name(b)


def lookup_keys_check(*, name: str, numbers: dict[str, str]) -> None:
    """The rule of every look-up across schools: the name together with a number. A
    number alone would tell anyone which school and class a child attends (an L
    number is area + birth date + sequence, so it can be enumerated)."""
    if not name:
        message = MSG_LOOKUP_NAME if any(numbers.values()) else MSG_LOOKUP_EMPTY
        raise ApplicationError(message, code="invalid", extra={"name": [message]})
    if not any(numbers.values()):
        raise ApplicationError(MSG_LOOKUP_EMPTY, code="invalid")
    national = numbers.get("national_number", "")
    if national and (len(national) != 19 or national[0] not in "GLJ"):
        raise ApplicationError(
            MSG_LOOKUP_NATIONAL, code="invalid", extra={"national_number": [MSG_LOOKUP_NATIONAL]}
        )


def national_peeks(national: str, schools: dict[int, str]) -> list[tuple[int, Peek]]:
    """Records holding national number `national`, looked up as a national number
    (never turned into an ID number: a G number may differ from the current ID). An
    L/J number names its county in its area digits, so that county's schools are
    searched; a G number names none, so every serving school is (`schools`: id → schema)."""
    from tenants.models import School

    if national.startswith("G"):
        school_ids = list(schools)
    else:
        county = f"{national[1:7]}000000"
        school_ids = list(
            School.objects.serving()
            .filter(county_id=county)
            .values_list("pk", flat=True)[:MAX_COUNTY_SCHOOLS]
        )
    peeks: list[tuple[int, Peek]] = []
    for pk in school_ids:
        if pk in schools:
            peeks.extend((pk, p) for p in peek_records(schools[pk], national_number=national))
    return peeks


def transfer_lookup(
    *, requesting_school_id: int, name: str = "", id_number: str = "", national_number: str = ""
) -> list[Found]:
    """Find a student across every school of the platform (§3.6: a global search
    instead of switching the school selector), always by the name together with a
    number. Name + ID number go through the index's keyed hash of the ID number; a
    national number is looked up as one (national_peeks). Every match must carry the
    name, and the national number when one was given."""
    from shared_apps.student_index.keys import digest
    from shared_apps.student_index.models import IndexEntry
    from tenants.models import School

    name = name.strip()
    id_number = id_number.strip().upper()
    national = national_number.strip().upper()
    lookup_keys_check(name=name, numbers={"id_number": id_number, "national_number": national})
    candidates: dict[int, list[uuid.UUID]] = {}
    if id_number:
        for school_id, student_uuid in IndexEntry.objects.filter(
            id_hash=digest("id:" + id_number)
        ).values_list("school_id", "student_uuid"):
            candidates.setdefault(school_id, []).append(student_uuid)
    schools = {
        pk: (schema, sname)
        for pk, schema, sname in School.objects.serving().values_list("pk", "schema_name", "name")
    }
    peeks: list[tuple[int, Peek]] = []
    for school_id, uuids in candidates.items():
        if school_id in schools:
            peeks.extend(
                (school_id, p) for p in peek_records(schools[school_id][0], identifier__in=uuids)
            )
    if national and not id_number:
        peeks.extend(national_peeks(national, {pk: v[0] for pk, v in schools.items()}))
    found = []
    for school_id, p in peeks:
        if not same_name(p.name, name):
            continue
        if national and p.national_number and p.national_number != national:
            continue
        found.append(
            Found(
                school_id=school_id,
                school_name=schools[school_id][1],
                student_uuid=str(p.identifier),
                name=mask_name(p.name),
                id_number=mask_id_number(p.id_number),
                status=p.status_label,
                grade=p.grade,
                class_name=p.class_name,
                own_school=school_id == requesting_school_id,
            )
        )
    return found


def _current_school_id() -> int:
    from tenants.models import School

    pk = School.objects.filter(schema_name=connection.schema_name).values_list("pk", flat=True)
    value = pk.first()
    if value is None:
        raise ApplicationError("当前不在学校域名下。", code="not_found")
    return int(value)


def _blockers_in(schema: str, identifier: uuid.UUID, kind: str) -> tuple[Peek, list[str]]:
    from tenant_apps.registry.changes.blockers import student_blockers
    from tenant_apps.registry.models import Student

    with school_context(schema):
        student = (
            Student.objects.select_for_update()
            .select_related("school_class")
            .filter(identifier=identifier)
            .first()
        )
        if student is None:
            raise ApplicationError("未找到该学生。", code="not_found")
        blockers = [f"{b.message}{b.advice}" for b in student_blockers(student, kind)]
        peek = peek_records(schema, identifier__in=[identifier])[0]
    return peek, blockers


def _summary(p: Peek, school_name: str) -> dict[str, str]:
    return {
        "name": mask_name(p.name),
        "id_number": mask_id_number(p.id_number),
        "school": school_name,
        "class": p.class_name,
        "grade": p.grade,
        "status": p.status_label,
    }


@transaction.atomic
def transfer_start(
    *,
    actor: Actor,
    sending_school_id: int,
    student_uuid: uuid.UUID | str,
    target_class_id: int,
    reason: str,
) -> Case:
    """The receiving school (the current schema) applies for a student of another
    platform school. Preconditions are the registry's blockers, read in the sending
    school under the student's row lock; the class must be of the same grade."""
    from tenant_apps.registry.models import SchoolClass

    receiving_id = _current_school_id()
    if int(sending_school_id) == receiving_id:
        raise ApplicationError(MSG_OWN_SCHOOL, code="invalid")
    reason = reason.strip()
    if not reason:
        raise ApplicationError(
            "请填写转学原因。", code="invalid", extra={"reason": ["请填写转学原因。"]}
        )
    try:
        identifier = uuid.UUID(str(student_uuid))
    except ValueError as exc:
        raise ApplicationError("未找到该学生。", code="not_found") from exc
    from shared_apps.student_index.models import IndexEntry

    if not IndexEntry.objects.filter(student_uuid=identifier, school_id=sending_school_id).exists():
        raise ApplicationError("未找到该学生。", code="not_found")
    klass = SchoolClass.objects.filter(pk=target_class_id).first()
    if klass is None:
        raise ApplicationError(
            "请选择转入班级。", code="invalid", extra={"target_class": ["请选择转入班级。"]}
        )
    target = (klass.pk, klass.name, klass.stage, klass.entry_year)
    sending = school_ref(int(sending_school_id))
    from tenants.models import School

    sending_schema = School.objects.filter(pk=sending.id).values_list("schema_name", flat=True)[0]
    peek, blockers = _blockers_in(sending_schema, identifier, "TRANSFER")
    if blockers:
        raise ApplicationError("不能申请转学：" + "；".join(blockers), code="blocked")
    if (peek.stage, peek.entry_year) != (target[2], target[3]):
        message = MSG_SAME_GRADE.format(grade=peek.grade, target=target[1])
        raise ApplicationError(message, code="invalid", extra={"target_class": [message]})
    receiving = school_ref(receiving_id)
    return case_open(
        kind=CaseKind.TRANSFER,
        school_id=receiving_id,
        other_school_id=sending.id,
        student_uuid=identifier,
        summary=_summary(peek, sending.name),
        chain=chain_transfer(receiving_id=receiving_id, sending_id=sending.id),
        created_by=f"{actor.username}@{actor.schema}",
        payload={
            "target_class_id": target[0],
            "target_class": target[1],
            "reason": reason[:300],
            "sending_school": sending.name,
            "receiving_school": receiving.name,
            "applied_on": timezone.localdate().isoformat(),
        },
    )


def transfer_complete(case: Case) -> None:
    """The last approval of a TRANSFER: move the record (same transaction)."""
    from shared_apps.transfers.move import plan_for, student_move

    if case.other_school_id is None or case.student_uuid is None:
        raise ApplicationError("业务数据不完整，不能办结。", code="move")
    last = case.steps.order_by("-at", "-id").first()
    plan = plan_for(
        identifier=case.student_uuid,
        sending_id=case.other_school_id,
        receiving_id=case.school_id,
        target_class_id=int(case.payload["target_class_id"]),
        actor_label=last.actor if last else case.created_by,
        note=f"转学（{case.number}）：{case.payload.get('reason', '')}",
    )
    result = student_move(plan)
    case.payload = {
        **case.payload,
        "moved_on": timezone.localdate().isoformat(),
        "copied": result.copied,
    }


def transfer_detail(case: Case) -> list[tuple[str, str]]:
    p = case.payload
    lines = [
        ("转出学校", str(p.get("sending_school", ""))),
        ("转入学校", str(p.get("receiving_school", ""))),
        ("转入班级", str(p.get("target_class", ""))),
        ("转学原因", str(p.get("reason", ""))),
    ]
    if p.get("moved_on"):
        lines.append(("迁移日期", str(p["moved_on"])))
    return lines


# -- with the outside -----------------------------------------------------------------


@transaction.atomic
def external_out_start(
    *,
    actor: Actor,
    student_uuid: uuid.UUID | str,
    destination: str,
    destination_region: str,
    reason: str,
) -> Case:
    """The sending school (current schema) applies to transfer a student out of the
    platform (another province or system)."""
    destination = destination.strip()
    destination_region = destination_region.strip()
    reason = reason.strip()
    errors = {}
    if not destination:
        errors["destination"] = ["请填写转入学校名称。"]
    if not destination_region:
        errors["destination_region"] = ["请填写转入学校所在省（市、县）。"]
    if not reason:
        errors["reason"] = ["请填写转学原因。"]
    if errors:
        raise ApplicationError(
            "请补全："
            + "、".join(
                {"destination": "转入学校", "destination_region": "所在地区", "reason": "转学原因"}[
                    k
                ]
                for k in errors
            )
            + "。",
            code="invalid",
            extra=errors,
        )
    try:
        identifier = uuid.UUID(str(student_uuid))
    except ValueError as exc:
        raise ApplicationError("未找到该学生。", code="not_found") from exc
    school_id = _current_school_id()
    schema = connection.schema_name
    peek, blockers = _blockers_in(schema, identifier, "TRANSFER_OUT_EXTERNAL")
    if blockers:
        raise ApplicationError("不能申请转出：" + "；".join(blockers), code="blocked")
    school = school_ref(school_id)
    chain = chain_in_school(school_id)
    chain[0]["label"] = "转出学校审核"
    return case_open(
        kind=CaseKind.TRANSFER_OUT_EXTERNAL,
        school_id=school_id,
        student_uuid=identifier,
        summary=_summary(peek, school.name),
        chain=chain,
        created_by=f"{actor.username}@{actor.schema}",
        payload={
            "destination": destination[:100],
            "destination_region": destination_region[:100],
            "reason": reason[:300],
            "sending_school": school.name,
            "applied_on": timezone.localdate().isoformat(),
        },
    )


def certificate_number(school_id: int, year: int) -> str:
    """转学证明 numbers run per school and year: <学校标识码>-<year>-<4 digits>."""
    from tenants.models import School

    code = School.objects.filter(pk=school_id).values_list("code", flat=True).first() or ""
    seq = counter_next(f"ZXZM:{school_id}:{year}")
    return f"{code}-{year}-{seq:04d}"


def external_out_complete(case: Case) -> None:
    from shared_apps.student_index.services import index_set_state
    from shared_apps.transfers.move import student_mark_left
    from tenant_apps.registry.models import Student
    from tenants.models import School

    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True)[0]
    last = case.steps.order_by("-at", "-id").first()
    p = case.payload
    note = f"转出至{p.get('destination_region', '')}{p.get('destination', '')}（{case.number}）"
    with school_context(schema):
        student = Student.objects.select_for_update().filter(identifier=case.student_uuid).first()
        if student is None or student.status != Student.Status.STUDYING:
            raise ApplicationError("该学生已不是在读状态，不能办结转出。", code="move")
        student_mark_left(
            student.pk,
            actor_label=last.actor if last else case.created_by,
            to_school=str(case.payload.get("destination", "")),
            note=note,
            action="转出（省外/外系统）",
        )
    index_set_state(student_uuids=[case.student_uuid], status="10", updated_at=timezone.now())
    today = timezone.localdate()
    case.payload = {
        **case.payload,
        "certificate_no": certificate_number(case.school_id, today.year),
        "left_on": today.isoformat(),
    }


def external_out_detail(case: Case) -> list[tuple[str, str]]:
    p = case.payload
    lines = [
        ("转入学校", str(p.get("destination", ""))),
        ("所在地区", str(p.get("destination_region", ""))),
        ("转学原因", str(p.get("reason", ""))),
    ]
    if p.get("certificate_no"):
        lines.append(("转学证明编号", str(p["certificate_no"])))
    return lines


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def external_in_register(
    *,
    actor: Actor,
    student_id: int,
    origin_school: str,
    origin_region: str,
    reason: str,
    evidence: Upload,
) -> Case:
    """Attach the proof of a transfer from outside to a student just entered through the
    registry's single entry (a draft of the current school) and start its audit. The
    file is stored first and removed again if the write fails."""
    from tenant_apps.registry.problems.services import evidence_check, evidence_save

    errors = {}
    if not origin_school.strip():
        errors["origin_school"] = ["请填写原就读学校。"]
    if not origin_region.strip():
        errors["origin_region"] = ["请填写原学校所在省（市、县）。"]
    if not reason.strip():
        errors["reason"] = ["请填写转入原因。"]
    if errors:
        raise ApplicationError(
            "请补全原就读学校、所在地区和转入原因。", code="invalid", extra=errors
        )
    if not evidence.data:
        raise ApplicationError(
            "请上传转学证明材料（JPG、PNG或PDF，不超过2MB）。",
            code="upload",
            extra={"file": ["请上传转学证明材料。"]},
        )
    if len(evidence.data) > MAX_EVIDENCE_BYTES:
        message = "转学证明材料不能超过2MB，请压缩或分页扫描后上传。"
        raise ApplicationError(message, code="upload", extra={"file": [message]})
    content_type = evidence_check(name=evidence.name, data=evidence.data)
    key = evidence_save(
        f"transfers/in/{timezone.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}",
        evidence.data,
        content_type,
    )
    try:
        with transaction.atomic():
            return _external_in(
                actor,
                student_id,
                origin_school.strip(),
                origin_region.strip(),
                reason.strip(),
                key,
                evidence.name,
                content_type,
            )
    except BaseException:
        default_storage.delete(key)
        raise


def _external_in(
    actor: Actor,
    student_id: int,
    origin_school: str,
    origin_region: str,
    reason: str,
    key: str,
    original_name: str,
    content_type: str,
) -> Case:
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import event_add

    student = (
        Student.objects.select_for_update()
        .select_related("school_class")
        .filter(pk=student_id)
        .first()
    )
    if student is None:
        raise ApplicationError("未找到该学生。", code="not_found")
    if student.audit_state != Student.Audit.DRAFT:
        raise ApplicationError(
            f"只有刚录入、待提交的学生可以登记省外转入（该生当前：{student.get_audit_state_display()}）。"
            "有问题学籍的请先处理。",
            code="state",
        )
    school_id = _current_school_id()
    school = school_ref(school_id)
    chain = chain_in_school(school_id)
    chain[0]["label"] = "转入学校审核"
    event_add(
        [student.pk],
        actor=actor,
        action="省外转入登记",
        reason=f"原学校：{origin_region}{origin_school}；{reason}"[:300],
    )
    peek = Peek(
        student.identifier,
        student.name,
        student.id_number,
        student.national_number,
        student.status,
        student.get_status_display(),
        student.audit_state,
        student.school_class.stage,
        student.school_class.entry_year,
        student.school_class.grade_name,
        student.school_class.name,
    )
    return case_open(
        kind=CaseKind.TRANSFER_IN_EXTERNAL,
        school_id=school_id,
        student_uuid=student.identifier,
        summary=_summary(peek, school.name),
        chain=chain,
        created_by=f"{actor.username}@{actor.schema}",
        payload={
            "origin_school": origin_school[:100],
            "origin_region": origin_region[:100],
            "reason": reason[:300],
            "evidence_key": key,
            "evidence_name": original_name[:200],
            "evidence_type": content_type,
            "receiving_school": school.name,
            "applied_on": timezone.localdate().isoformat(),
        },
    )


def external_in_complete(case: Case) -> None:
    """The county's approval registers the record and gives it its formal number."""
    register_on_approval(case, action="省外转入审核通过")


def register_on_approval(case: Case, *, action: str) -> None:
    """Complete a case whose student was entered as a draft with evidence (省外转入,
    异地离校生转入, 其他增加): register the record and give it its formal number, as the
    registration audit's county approval does. A record registered meanwhile through the
    ordinary audit is left as it is."""
    from shared_apps.student_index.services import index_set_state
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import current_school, event_add, formal_number
    from tenants.models import School

    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True)[0]
    last = case.steps.order_by("-at", "-id").first()
    who = (last.actor if last else case.created_by).split("@")[0]
    actor = Actor(username=who, name=who, schema="public")
    with school_context(schema):
        student = Student.objects.select_for_update().filter(identifier=case.student_uuid).first()
        if student is None:
            raise ApplicationError("该学生已被删除，不能办结。", code="move")
        if student.audit_state == Student.Audit.REGISTERED:
            return
        if student.audit_state == Student.Audit.PROBLEM:
            raise ApplicationError("该学生现为问题学籍，请学校先处理后再审核。", code="move")
        before = student.audit_state
        kind, number = formal_number(student, current_school().area)
        Student.objects.filter(pk=student.pk).update(
            audit_state=Student.Audit.REGISTERED, number_kind=kind, national_number=number
        )
        event_add(
            [student.pk],
            actor=actor,
            action=action,
            from_state=before,
            to_state=Student.Audit.REGISTERED,
            reason=case.number,
            changes={"national_number": [student.national_number, number]},
        )
    index_set_state(
        student_uuids=[case.student_uuid], audit_state="registered", updated_at=timezone.now()
    )
    case.payload = {**case.payload, "registered_on": timezone.localdate().isoformat()}


def external_in_detail(case: Case) -> list[tuple[str, str]]:
    p = case.payload
    return [
        ("原就读学校", str(p.get("origin_school", ""))),
        ("所在地区", str(p.get("origin_region", ""))),
        ("转入原因", str(p.get("reason", ""))),
        ("转学证明材料", str(p.get("evidence_name", ""))),
    ]


def evidence_url(case: Case) -> str | None:
    """A short-lived link to an in-transfer's proof, made inside the school (its key
    prefix); for the case page of the school and of the reviewing bureau."""
    from tenants.models import School

    key = case.payload.get("evidence_key")
    if not key:
        return None
    schema = School.objects.filter(pk=case.school_id).values_list("schema_name", flat=True)[0]
    with school_context(schema):
        return str(default_storage.url(key))


def register() -> None:
    register_completion(CaseKind.TRANSFER, transfer_complete)
    register_detail(CaseKind.TRANSFER, transfer_detail)
    register_completion(CaseKind.TRANSFER_OUT_EXTERNAL, external_out_complete)
    register_detail(CaseKind.TRANSFER_OUT_EXTERNAL, external_out_detail)
    register_completion(CaseKind.TRANSFER_IN_EXTERNAL, external_in_complete)
    register_detail(CaseKind.TRANSFER_IN_EXTERNAL, external_in_detail)


def due_label(due_on: dt.date | None) -> str:
    return f"{due_on:%Y-%m-%d}" if due_on else ""
