"""Writes of the school's certificates: numbering schemes, issue (one or a class),
reprint and void. Every issue, reprint and void is audited (accounts.audit) and noted in
the pupil's registry history through the registry's own service (event_add)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.audit import audit_record
from common.actor import Actor
from common.exceptions import ApplicationError
from tenant_apps.registry.models import Student
from tenant_apps.reports.models.certificates import (
    SINGLE_KINDS,
    Certificate,
    CertificateCounter,
    CertificateScheme,
    Kind,
)

S = Student.Status
A = Student.Audit

# No 0/O, 1/I/L: a code read aloud or typed from paper has one reading. 31 symbols,
# 10 characters: about 2^49 codes, drawn by `secrets`, so not guessable.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10

MSG_NOT_FOUND = "未找到该学生。"
MSG_CERT_NOT_FOUND = "未找到该证书。"
MSG_NOT_IN_SCHOOL = "该学生不是在读学生（已注册且在校），不能开具学籍证明。"
MSG_NOT_GRADUATED = "该学生的学籍状态不是“毕业”，不能发放毕业证书。"
MSG_NOT_COMPLETED = "该学生的学籍状态不是“结业”，不能发放结业证明。"
MSG_ALREADY = "该学生已有有效的{kind}（{number}）；如需重发，请先作废原证书。"
MSG_VOID_ALREADY = "该证书已作废。"
MSG_REASON = "请填写作废原因。"
MSG_NUMBER_TAKEN = "按当前编号规则生成的编号已被使用，请修改编号规则后再签发。"
MSG_SCHEME = "编号规则有误：前缀最多20个字符，年份为四位数字，序号位数为3至8位。"

# What each kind requires of the record: 在读 (registry.counts: registered and in
# school) for 学籍证明, the status 毕业 or 结业 for the other two.
_ELIGIBLE = {
    Kind.ENROLMENT: (S.STUDYING, MSG_NOT_IN_SCHOOL),
    Kind.DIPLOMA: (S.GRADUATED, MSG_NOT_GRADUATED),
    Kind.COMPLETION: (S.COMPLETED, MSG_NOT_COMPLETED),
}
_HISTORY_ACTION = {
    Kind.ENROLMENT: "开具学籍证明",
    Kind.DIPLOMA: "发放毕业证书",
    Kind.COMPLETION: "发放结业证明",
}


def school_code() -> str:
    """The school's 学校标识码 (the default prefix of every number)."""
    from tenants.models import School

    code = (
        School.objects.filter(schema_name=connection.schema_name)
        .values_list("code", flat=True)
        .first()
    )
    return str(code or "")


def school_name() -> str:
    from tenants.models import School

    name = (
        School.objects.filter(schema_name=connection.schema_name)
        .values_list("name", flat=True)
        .first()
    )
    return str(name or "")


def scheme_for(kind: str) -> CertificateScheme:
    """The kind's scheme; the default one (school code, this year, 4 digits) until the
    manager sets one. Not saved here: only scheme_update and an issue write it."""
    scheme = CertificateScheme.objects.filter(kind=kind).first()
    if scheme is None:
        scheme = CertificateScheme(
            kind=kind, prefix=school_code(), year=timezone.localdate().year, width=4
        )
    return scheme


def format_number(*, prefix: str, year: int, width: int, seq: int) -> str:
    return f"{prefix}{year}{seq:0{width}d}"


@transaction.atomic
def scheme_update(
    *, kind: str, prefix: str, year: int, width: int, actor: Actor, request: Any = None
) -> CertificateScheme:
    prefix = prefix.strip()
    if kind not in Kind.values or len(prefix) > 20 or not 1990 <= year <= 2100:
        raise ApplicationError(MSG_SCHEME, code="invalid")
    if not 3 <= width <= 8:
        raise ApplicationError(MSG_SCHEME, code="invalid")
    before = scheme_for(kind)
    old = {"prefix": before.prefix, "year": before.year, "width": before.width}
    scheme, _ = CertificateScheme.objects.update_or_create(
        kind=kind,
        defaults={"prefix": prefix, "year": year, "width": width, "updated_by": actor.label},
    )
    audit_record(
        request=request,
        actor=actor,
        action="certificate.scheme",
        object_type="certificate_scheme",
        object_id=kind,
        object_repr=f"{Kind(kind).label}编号规则",
        before=old,
        after={"prefix": prefix, "year": year, "width": width},
    )
    return scheme


def _next_number(kind: str) -> str:
    """The next number of the kind's scheme; call inside the issuing transaction. The
    counter row is created if missing (ON CONFLICT DO NOTHING, so two first issues do not
    collide) and then locked until the transaction ends."""
    scheme = scheme_for(kind)
    if scheme.pk is None:
        scheme.save()
    CertificateCounter.objects.bulk_create(
        [CertificateCounter(kind=kind, prefix=scheme.prefix, year=scheme.year)],
        ignore_conflicts=True,
    )
    counter = CertificateCounter.objects.select_for_update().get(
        kind=kind, prefix=scheme.prefix, year=scheme.year
    )
    counter.last += 1
    counter.save(update_fields=["last"])
    return format_number(
        prefix=scheme.prefix, year=scheme.year, width=scheme.width, seq=counter.last
    )


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not Certificate.objects.filter(code=code).exists():
            return code


def frozen_values(student: Student) -> dict[str, Any]:
    """What the certificate prints, as the record says today."""
    klass = student.school_class
    return {
        "name": student.name,
        "sex": student.get_sex_display(),
        "birth_date": student.birth_date.isoformat(),
        "id_number": student.id_number,
        "national_number": student.national_number,
        "class_name": klass.name,
        "entry_year_month": student.entry_year_month,
        "school": school_name(),
    }


def _audit(
    cert: Certificate, action: str, actor: Actor, request: Any, extra: dict[str, Any] | None = None
) -> None:
    audit_record(
        request=request,
        actor=actor,
        action=action,
        object_type="certificate",
        object_id=cert.number,
        object_repr=f"{Kind(cert.kind).label} {cert.number}",
        after={"kind": cert.kind, "number": cert.number, "state": cert.state, **(extra or {})},
    )


def _history(student_pk: int, kind: str, action: str, actor: Actor, reason: str) -> None:
    from tenant_apps.registry.students.services import event_add

    event_add([student_pk], actor=actor, action=action, reason=reason[:200])


def _issue_one(
    student: Student, *, kind: str, purpose: str, actor: Actor, request: Any
) -> Certificate:
    status, message = _ELIGIBLE[Kind(kind)]
    if student.audit_state != A.REGISTERED or student.status != status:
        raise ApplicationError(message, code="state")
    if kind in SINGLE_KINDS:
        held = Certificate.objects.filter(
            student_identifier=student.identifier, kind=kind, state=Certificate.State.ISSUED
        ).first()
        if held is not None:
            raise ApplicationError(
                MSG_ALREADY.format(kind=Kind(kind).label, number=held.number), code="duplicate"
            )
    try:
        with transaction.atomic():
            cert = Certificate.objects.create(
                kind=kind,
                number=_next_number(kind),
                code=new_code(),
                student_identifier=student.identifier,
                purpose=purpose.strip()[:100],
                values=frozen_values(student),
                issued_by=actor.label,
            )
    except IntegrityError as exc:
        # A concurrent issue of the same pupil's 毕业证书 won the race, or the scheme was
        # edited into numbers already given (the counter is per prefix and year).
        held = Certificate.objects.filter(
            student_identifier=student.identifier, kind=kind, state=Certificate.State.ISSUED
        ).first()
        if kind in SINGLE_KINDS and held is not None:
            raise ApplicationError(
                MSG_ALREADY.format(kind=Kind(kind).label, number=held.number), code="duplicate"
            ) from exc
        raise ApplicationError(MSG_NUMBER_TAKEN, code="number_taken") from exc
    _audit(cert, "certificate.issue", actor, request, {"purpose": cert.purpose})
    _history(student.pk, kind, _HISTORY_ACTION[Kind(kind)], actor, f"证书编号 {cert.number}")
    return cert


def _student(identifier: uuid.UUID | str) -> Student:
    student = (
        Student.objects.select_for_update(of=("self",))
        .select_related("school_class")
        .exclude(audit_state=A.DELETED)
        .filter(identifier=identifier)
        .first()
    )
    if student is None:
        raise ApplicationError(MSG_NOT_FOUND, code="not_found")
    return student


@transaction.atomic
def certificate_issue(
    *,
    kind: str,
    student_identifier: uuid.UUID | str,
    actor: Actor,
    purpose: str = "",
    request: Any = None,
) -> Certificate:
    """Issue one certificate; the pupil's row is locked so that two issues of the same
    毕业证书 at once cannot both pass the check (the constraint is the last guard)."""
    if kind not in Kind.values:
        raise ApplicationError(MSG_CERT_NOT_FOUND, code="invalid")
    return _issue_one(
        _student(student_identifier), kind=kind, purpose=purpose, actor=actor, request=request
    )


@transaction.atomic
def certificate_issue_class(
    *, class_id: int, actor: Actor, kind: str = Kind.DIPLOMA, request: Any = None
) -> tuple[list[Certificate], int]:
    """毕业证书 (or 结业证明) for every pupil of a class who may have one and has none
    yet: returns the new certificates and how many were passed over (already holding
    one). Numbers follow the class order."""
    if kind not in SINGLE_KINDS:
        raise ApplicationError(MSG_CERT_NOT_FOUND, code="invalid")
    status, _message = _ELIGIBLE[Kind(kind)]
    students: Sequence[Student] = list(
        Student.objects.select_for_update(of=("self",))
        .select_related("school_class")
        .filter(school_class_id=class_id, status=status, audit_state=A.REGISTERED)
        .order_by("number_in_class", "pk")
    )
    held = set(
        Certificate.objects.filter(
            kind=kind,
            state=Certificate.State.ISSUED,
            student_identifier__in=[s.identifier for s in students],
        ).values_list("student_identifier", flat=True)
    )
    issued = [
        _issue_one(s, kind=kind, purpose="", actor=actor, request=request)
        for s in students
        if s.identifier not in held
    ]
    return issued, len(students) - len(issued)


@transaction.atomic
def certificate_reprint(*, certificate_id: int, actor: Actor, request: Any = None) -> Certificate:
    """A reprint prints the frozen values again with the same number and code."""
    cert = Certificate.objects.select_for_update().filter(pk=certificate_id).first()
    if cert is None:
        raise ApplicationError(MSG_CERT_NOT_FOUND, code="not_found")
    if cert.state == Certificate.State.VOID:
        raise ApplicationError(MSG_VOID_ALREADY, code="state")
    cert.reprint_count += 1
    cert.save(update_fields=["reprint_count"])
    _audit(cert, "certificate.reprint", actor, request, {"reprint_count": cert.reprint_count})
    return cert


@transaction.atomic
def certificate_void(
    *, certificate_id: int, reason: str, actor: Actor, request: Any = None
) -> Certificate:
    reason = reason.strip()
    if not reason:
        raise ApplicationError(MSG_REASON, code="invalid")
    cert = Certificate.objects.select_for_update().filter(pk=certificate_id).first()
    if cert is None:
        raise ApplicationError(MSG_CERT_NOT_FOUND, code="not_found")
    if cert.state == Certificate.State.VOID:
        raise ApplicationError(MSG_VOID_ALREADY, code="state")
    cert.state = Certificate.State.VOID
    cert.void_reason = reason[:200]
    cert.voided_by = actor.label
    cert.voided_at = timezone.now()
    cert.save(update_fields=["state", "void_reason", "voided_by", "voided_at"])
    _audit(cert, "certificate.void", actor, request, {"reason": cert.void_reason})
    pk = Student.objects.filter(identifier=cert.student_identifier).values_list("pk", flat=True)
    for student_pk in pk:
        _history(
            student_pk,
            cert.kind,
            f"作废{Kind(cert.kind).label}",
            actor,
            f"证书编号 {cert.number}：{cert.void_reason}",
        )
    return cert
