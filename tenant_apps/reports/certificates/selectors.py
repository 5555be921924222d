"""Reads of the school's certificates, and the public verification result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from common.masking import mask_name
from tenant_apps.registry.models import SchoolClass, Student
from tenant_apps.reports.certificates.services import CODE_ALPHABET, CODE_LENGTH, school_name
from tenant_apps.reports.models.certificates import Certificate, Kind


def certificate_list(*, kind: str = "", state: str = "", q: str = "") -> QuerySet[Certificate]:
    rows = Certificate.objects.all()
    if kind in Kind.values:
        rows = rows.filter(kind=kind)
    if state in Certificate.State.values:
        rows = rows.filter(state=state)
    q = q.strip()
    if q:
        rows = rows.filter(Q(number__icontains=q) | Q(values__name__icontains=q))
    return rows


def certificate_get(*, certificate_id: int) -> Certificate | None:
    return Certificate.objects.filter(pk=certificate_id).first()


def student_candidates(*, q: str, limit: int = 20) -> list[Student]:
    """Pupils whose name, 全国学籍号 or 学籍辅号 is `q` (exact), for the issue form."""
    q = q.strip()
    if not q:
        return []
    return list(
        Student.objects.select_related("school_class")
        .exclude(audit_state=Student.Audit.DELETED)
        .filter(Q(name=q) | Q(national_number=q.upper()) | Q(aux_number=q))
        .order_by("school_class__class_no", "number_in_class")[:limit]
    )


@dataclass(frozen=True)
class ClassGraduates:
    class_id: int
    class_name: str
    graduated: int
    completed: int


def classes_with_leavers() -> list[ClassGraduates]:
    """Classes with registered 毕业 or 结业 pupils: the batch-issue choices."""
    S = Student.Status
    rows = (
        Student.objects.filter(
            audit_state=Student.Audit.REGISTERED, status__in=[S.GRADUATED, S.COMPLETED]
        )
        .order_by()
        .values("school_class_id")
        .annotate(
            g=Count("pk", filter=Q(status=S.GRADUATED)),
            c=Count("pk", filter=Q(status=S.COMPLETED)),
        )
    )
    counts = {r["school_class_id"]: (r["g"], r["c"]) for r in rows}
    classes = SchoolClass.objects.filter(pk__in=list(counts)).order_by("class_no")
    return [ClassGraduates(c.pk, c.name, *counts[c.pk]) for c in classes]


@dataclass(frozen=True)
class Verification:
    """All the public page may say (issue 15 point 5): found or not, void or valid, the
    kind and number, the masked name, the school and the date. Nothing else."""

    found: bool
    valid: bool = False
    kind: str = ""
    number: str = ""
    masked_name: str = ""
    school: str = ""
    issued_on: dt.date | None = None

    @property
    def state(self) -> str:
        if not self.found:
            return "not_found"
        return "valid" if self.valid else "void"


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def certificate_verify(*, code: str) -> Verification:
    """Looks only in the current school's schema: another school's code is 未找到 here."""
    code = normalize_code(code)
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return Verification(found=False)
    cert = Certificate.objects.filter(code=code).first()
    if cert is None:
        return Verification(found=False)
    return Verification(
        found=True,
        valid=cert.state == Certificate.State.ISSUED,
        kind=Kind(cert.kind).label,
        number=cert.number,
        masked_name=mask_name(str(cert.values.get("name", ""))),
        school=school_name(),
        issued_on=timezone.localtime(cert.issued_at).date(),
    )
