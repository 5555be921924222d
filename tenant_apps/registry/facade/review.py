"""The record under the county's review, in full: what the bureau approves, it can see.

The county's 学籍审核 and 佐证审核 list their items masked (`reads.masked_students`); an
officer with 学籍教育局审核 who opens one item reads the whole record here, real values
included (name, ID number, birth date, 户口, family members), and the bureau writes one
``read.reveal`` audit entry for it (shared_apps.bureau.services.review_open). Each read
happens inside that one school's context and returns frozen values only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenants.context import school_context

if TYPE_CHECKING:
    from tenant_apps.registry.models import Student


@dataclass(frozen=True)
class ReviewSection:
    """One group of the record (基本信息, 户口, 家庭成员（成员1）…): (label, value) rows,
    values as a registrar reads them (code labels, 是/否), nothing masked."""

    label: str
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ReviewRecord:
    """A student record as the reviewing county sees it once opened: real values."""

    student_uuid: str
    name: str
    sex: str  # label
    birth_date: dt.date | None
    id_type: str  # label
    id_number: str
    household_region: str
    household_type: str  # label
    national_number: str
    class_name: str
    audit_state: str  # label
    sections: tuple[ReviewSection, ...]


@dataclass(frozen=True)
class EvidenceRecord:
    """A 佐证 under review with the record it is for (real values) and its file."""

    record: ReviewRecord
    kind: str  # the problem's kind, as a label
    note: str
    file_url: str  # presigned, for the reviewing bureau
    original_name: str


def _record(s: Student) -> ReviewRecord:
    # The template's columns (registry.fields) are added to Student at import time, so
    # the type checker knows them only through getattr.
    from tenant_apps.registry.fields import BY_KEY
    from tenant_apps.registry.students.forms import display_value, student_sections
    from tenant_apps.registry.students.services import student_snapshot

    snapshot = student_snapshot(s)
    sections = tuple(
        ReviewSection(
            label=str(group["label"]),
            rows=tuple((str(row["label"]), str(row["value"])) for row in group["rows"]),
        )
        for group in student_sections(s, snapshot, reveal=True)
        if group["rows"]
    )
    return ReviewRecord(
        student_uuid=str(s.identifier),
        name=s.name,
        sex=s.get_sex_display(),
        birth_date=s.birth_date,
        id_type=display_value(BY_KEY["id_type"], getattr(s, "id_type", "")),
        id_number=s.id_number,
        household_region=str(getattr(s, "household_region", "") or ""),
        household_type=display_value(BY_KEY["household_type"], getattr(s, "household_type", "")),
        national_number=s.national_number,
        class_name=s.school_class.name,
        audit_state=s.get_audit_state_display(),
        sections=sections,
    )


def review_record(
    *, schema_name: str, identifier: uuid.UUID | str, audit_state: str
) -> ReviewRecord | None:
    """The student of that school with that identifier, in full, while it is in
    `audit_state` (the county reviews only what waits for it); None otherwise."""
    from tenant_apps.registry.models import Student

    with school_context(schema_name):
        student = (
            Student.objects.select_related("school_class")
            .prefetch_related("family")
            .filter(identifier=identifier, audit_state=audit_state)
            .first()
        )
        return _record(student) if student is not None else None


def evidence_record(
    *, schema_name: str, problem_id: int, evidence_id: int
) -> EvidenceRecord | None:
    """One 佐证 with its student in full and a short-lived link to the file (made inside
    the school, so its key prefix is right); None when either is gone."""
    from django.core.files.storage import default_storage

    from tenant_apps.registry.models import Evidence

    with school_context(schema_name):
        evidence = (
            Evidence.objects.select_related("problem__student__school_class")
            .filter(pk=evidence_id, problem_id=problem_id)
            .first()
        )
        if evidence is None:
            return None
        return EvidenceRecord(
            record=_record(evidence.problem.student),
            kind=evidence.problem.get_kind_display(),
            note=evidence.note,
            file_url=default_storage.url(evidence.file_key),
            original_name=evidence.original_name,
        )
