"""What other schools and the bureau may learn about this school's students.

The only module imported across the public/school boundary. Every function takes a
schema name, reads inside that school, and returns frozen dataclasses, never models.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from common.masking import mask_id_number, mask_name
from tenants.context import school_context


@dataclass(frozen=True)
class MaskedStudent:
    """A record of another school as anyone outside it may see it."""

    student_uuid: str
    school_name: str
    name: str  # 张*三
    id_number: str  # 4301**********123X
    status: str  # label, e.g. 在读
    audit_state: str  # label, e.g. 已注册

    def as_dict(self) -> dict[str, str]:
        return {
            "student_uuid": self.student_uuid,
            "school_name": self.school_name,
            "name": self.name,
            "id_number": self.id_number,
            "status": self.status,
            "audit_state": self.audit_state,
        }


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


@dataclass(frozen=True)
class EvidenceView:
    name: str  # masked
    id_number: str  # masked
    kind: str
    note: str
    file_url: str  # presigned, for the reviewing bureau
    original_name: str


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
