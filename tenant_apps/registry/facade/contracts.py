"""What crosses the registry's facade: frozen dataclasses of plain values.

No model instance, queryset or lazy object is ever part of a contract: a shared app
reads them after the facade has left the school's schema (django-tenants #731, #164).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass


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


@dataclass(frozen=True)
class EvidenceView:
    name: str  # masked
    id_number: str  # masked
    kind: str
    note: str
    file_url: str  # presigned, for the reviewing bureau
    original_name: str


@dataclass(frozen=True)
class Peek:
    """What a lookup reads inside a school (full values): for transfers and intake
    only, which mask it before anything leaves them."""

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


@dataclass(frozen=True)
class BlockerView:
    """One reason a business on a student may not start (registry.changes.blockers)."""

    code: str
    message: str  # what blocks
    advice: str  # what to do about it


@dataclass(frozen=True)
class StudentCard:
    """A student of the school as its own pages show it (full values: only for the
    school's own host)."""

    pk: int
    identifier: uuid.UUID
    name: str
    id_number: str
    class_name: str
    status: str
    audit_state: str


@dataclass(frozen=True)
class ClassOption:
    """A class of the school, as a choice on a form."""

    pk: int
    name: str
    stage: str
    entry_year: int


@dataclass(frozen=True)
class Person:
    """A student as printed on the school's own documents."""

    name: str
    sex: str
    birth_date: dt.date | None
    id_number: str
    national_number: str
    class_name: str


@dataclass(frozen=True)
class GradeStudent:
    """A student of one grade, as the county's renumbering sees it."""

    id: int
    identifier: str
    name: str  # masked
    class_number: int
    class_name: str
    number_in_class: int | None
    aux_number: str
