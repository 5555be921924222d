"""Reads inside one school for the shared apps and the bureau.

Every function takes the school's schema name, reads inside `school_context` of that
school only, and returns contracts (facade.contracts) or plain values, never models.
Registry modules are imported inside the functions: registry.students.services imports the
facade, so a module-level import would be circular.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from common.exceptions import ApplicationError
from common.masking import mask_id_number, mask_name
from tenant_apps.registry.facade.contracts import (
    BlockerView,
    ClassOption,
    EvidenceView,
    GradeStudent,
    MaskedStudent,
    Peek,
    Person,
    StudentCard,
)
from tenants.context import school_context

if TYPE_CHECKING:
    from shared_apps.student_index.services import IndexRecord

MSG_LOOKUP_EMPTY = "请输入学生姓名，以及身份证件号或全国学籍号。"
MSG_LOOKUP_NAME = "跨校查找须同时输入学生姓名：只凭身份证件号或全国学籍号不能查找。"
MSG_LOOKUP_NATIONAL = "全国学籍号应为19位：G、L或J开头，后接18位。"
MSG_NOT_FOUND = "未找到该学生。"
MAX_COUNTY_SCHOOLS = 500  # L/J numbers: schools of the number's county searched at most
# Students still on the school's roll: not deleted, not gone (转出, 死亡, 退学).
GONE_STATUSES = ("03", "10", "11")


def masked_students(
    *, schema_name: str, school_name: str, uuids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, MaskedStudent]:
    from tenant_apps.registry.models import Student

    wanted = list(uuids)
    with school_context(schema_name):
        rows = list(
            Student.objects.filter(identifier__in=wanted).values_list(
                "identifier", "name", "id_number", "status", "audit_state"
            )
        )
    status_labels = dict(Student.Status.choices)
    audit_labels = dict(Student.Audit.choices)
    return {
        ident: MaskedStudent(
            student_uuid=str(ident),
            school_name=school_name,
            name=mask_name(name),
            id_number=mask_id_number(id_number),
            status=status_labels.get(status, status),
            audit_state=audit_labels.get(audit, audit),
        )
        for ident, name, id_number, status, audit in rows
    }


def evidence_view(*, schema_name: str, problem_id: int, evidence_id: int) -> EvidenceView | None:
    """What the bureau needs to judge one 佐证: the masked student, the problem and a
    short-lived link to the file (made inside the school, so its key prefix is right)."""
    from django.core.files.storage import default_storage

    from tenant_apps.registry.models import Evidence

    with school_context(schema_name):
        evidence = (
            Evidence.objects.select_related("problem__student")
            .filter(pk=evidence_id, problem_id=problem_id)
            .first()
        )
        if evidence is None:
            return None
        student = evidence.problem.student
        return EvidenceView(
            name=mask_name(student.name),
            id_number=mask_id_number(student.id_number),
            kind=evidence.problem.get_kind_display(),
            note=evidence.note,
            file_url=default_storage.url(evidence.file_key),
            original_name=evidence.original_name,
        )


# -- look-ups across schools ---------------------------------------------------------


def _peek(s: Any) -> Peek:
    return Peek(
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


def peek_records(schema: str, **lookup: Any) -> list[Peek]:
    """Up to 20 live records of that school matching the Student lookup."""
    from tenant_apps.registry.models import Student

    with school_context(schema):
        qs = (
            Student.objects.select_related("school_class")
            .exclude(audit_state=Student.Audit.DELETED)
            .filter(**lookup)
        )
        return [_peek(s) for s in qs[:20]]


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


def student_blockers_locked(
    *, schema_name: str, identifier: uuid.UUID, kind: str
) -> tuple[Peek, list[str]]:
    """The student (as a Peek) and what blocks `kind` for it ("message advice" each),
    read in that school under the student's row lock: call inside the transaction that
    opens the case, so the lock holds until it commits."""
    from tenant_apps.registry.changes.blockers import student_blockers
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        student = (
            Student.objects.select_for_update()
            .select_related("school_class")
            .filter(identifier=identifier)
            .first()
        )
        if student is None:
            raise ApplicationError(MSG_NOT_FOUND, code="not_found")
        blockers = [f"{b.message}{b.advice}" for b in student_blockers(student, kind)]
        peek = peek_records(schema_name, identifier__in=[identifier])[0]
    return peek, blockers


# -- the school's own pages (transfers' forms on the school host) ---------------------


def _card(s: Any) -> StudentCard:
    return StudentCard(
        pk=s.pk,
        identifier=s.identifier,
        name=s.name,
        id_number=s.id_number,
        class_name=s.school_class.name,
        status=s.status,
        audit_state=s.audit_state,
    )


def student_card(*, schema_name: str, identifier: uuid.UUID) -> StudentCard | None:
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        s = Student.objects.select_related("school_class").filter(identifier=identifier).first()
        return _card(s) if s is not None else None


def student_blockers_of(*, schema_name: str, identifier: uuid.UUID, kind: str) -> list[BlockerView]:
    """What blocks `kind` for the student (no lock: for showing on a page)."""
    from tenant_apps.registry.changes.blockers import student_blockers
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        s = Student.objects.select_related("school_class").filter(identifier=identifier).first()
        if s is None:
            return []
        return [BlockerView(b.code, b.message, b.advice) for b in student_blockers(s, kind)]


def draft_cards(*, schema_name: str, limit: int = 200) -> list[StudentCard]:
    """The school's drafts (entered, not yet submitted), newest first."""
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        return [
            _card(s)
            for s in Student.objects.select_related("school_class")
            .filter(audit_state=Student.Audit.DRAFT)
            .order_by("-created_at")[:limit]
        ]


def class_options(*, schema_name: str) -> list[ClassOption]:
    """Every class of the school, by stage, entry year and number."""
    from tenant_apps.registry.models import SchoolClass

    with school_context(schema_name):
        return [
            ClassOption(c.pk, c.name, c.stage, c.entry_year)
            for c in SchoolClass.objects.order_by("stage", "entry_year", "number")
        ]


def class_option(*, schema_name: str, class_id: int) -> ClassOption | None:
    from tenant_apps.registry.models import SchoolClass

    with school_context(schema_name):
        c = SchoolClass.objects.filter(pk=class_id).first()
        return ClassOption(c.pk, c.name, c.stage, c.entry_year) if c is not None else None


def person_of(*, schema_name: str, identifier: uuid.UUID) -> Person | None:
    """The student as that school holds it, for the school's own printed documents."""
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        s = Student.objects.select_related("school_class").filter(identifier=identifier).first()
        if s is None:
            return None
        return Person(
            s.name,
            s.get_sex_display(),
            s.birth_date,
            s.id_number,
            s.national_number,
            s.school_class.name,
        )


# -- the county's renumbering ---------------------------------------------------------


def grade_students(*, schema_name: str, stage: str, entry_year: int) -> list[GradeStudent]:
    """The school's students of one grade in class and 班内学号 order (students without
    a 班内学号 last in their class)."""
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        rows = (
            Student.objects.filter(school_class__stage=stage, school_class__entry_year=entry_year)
            .exclude(audit_state=Student.Audit.DELETED)
            .exclude(status__in=GONE_STATUSES)
            .select_related("school_class")
        )
        result = [
            GradeStudent(
                id=s.pk,
                identifier=str(s.identifier),
                name=mask_name(s.name),
                class_number=s.school_class.number,
                class_name=s.school_class.name,
                number_in_class=s.number_in_class,
                aux_number=s.aux_number,
            )
            for s in rows
        ]
    result.sort(
        key=lambda g: (
            g.class_number,
            g.number_in_class is None,
            g.number_in_class or 0,
            g.id,
        )
    )
    return result


# -- the backup's index resync --------------------------------------------------------


def index_records(
    *, schema_name: str, on_progress: Callable[[int, int], None] | None = None
) -> list[IndexRecord]:
    """The public index's record (student_index.IndexRecord) of every live student of
    the school. Re-hashing is slow: `on_progress(n, total)` hears about ten times."""
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import index_record, open_problem_annotation

    with school_context(schema_name):
        students = (
            Student.objects.select_related("school_class")
            .exclude(audit_state=Student.Audit.DELETED)
            .annotate(open_problem=open_problem_annotation())
        )
        total = students.count()
        step = max(total // 10, 1)
        records = []
        for n, s in enumerate(students.iterator(chunk_size=2000), 1):
            records.append(index_record(s))
            if on_progress and (n % step == 0 or n == total):
                on_progress(n, total)
    return records
