"""Registered students with family, history and marks for the transfer tests."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from common.actor import Actor
from tenants.context import school_context

if TYPE_CHECKING:
    from conftest import World


@dataclass(frozen=True)
class Made:
    identifier: uuid.UUID
    name: str
    id_number: str
    national_number: str


def make_student(
    schema: str,
    school_id: int,
    *,
    name: str,
    id_number: str,
    entry_year: int = 2024,
    with_marks: bool = True,
    own_course_code: str | None = None,
) -> Made:
    """A registered 在读 pupil of class (entry_year, 1) with one family member, two
    history entries, a mark in a national course and optionally one in a school course."""
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import FamilyMember, SchoolClass, Student, StudentEvent
    from tenant_apps.registry.students.services import index_record

    with school_context(schema):
        klass, _ = SchoolClass.objects.get_or_create(
            stage="primary",
            entry_year=entry_year,
            number=1,
            defaults={"class_no": SchoolClass.make_class_no("primary", entry_year, 1)},
        )
        student = Student.objects.create(
            name=name,
            sex="1",
            birth_date=dt.date(2018, 3, 1),
            id_number=id_number,
            id_type="1",
            birthplace="430181108000",
            household_region="430181108000",
            school_class=klass,
            number_in_class=7,
            entry_year_month=f"{entry_year}09",
            audit_state=Student.Audit.REGISTERED,
            national_number=f"G{id_number}",
            number_kind=Student.NumberKind.FORMAL_ID,
            ethnicity="01",
        )
        FamilyMember.objects.create(student=student, slot=1, name="家长" + name[-1], relation="11")
        StudentEvent.objects.create(student=student, actor="甲（A1）", action="新增")
        StudentEvent.objects.create(student=student, actor="乙（A2）", action="教育局审核通过")
        StudentEvent.objects.filter(student=student, action="新增").update(
            at=timezone.now() - dt.timedelta(days=400)
        )
        if with_marks:
            _marks(student.pk, own_course_code)
        index_upsert(school_id=school_id, records=[index_record(student)])
        return Made(student.identifier, name, id_number, student.national_number)


def _marks(student_pk: int, own_course_code: str | None) -> None:
    from tenant_apps.grades.models import Course, Mark

    national = Course.objects.filter(is_national=True).order_by("code").first()
    courses = [national] if national else []
    if own_course_code:
        courses.append(
            Course.objects.get_or_create(
                code=own_course_code, defaults={"name": "校本课程" + own_course_code}
            )[0]
        )
    for course in courses:
        Mark.objects.create(
            student_id=student_pk,
            course=course,
            school_year="2025-2026",
            term=1,
            level=4,
            entered_by="teacher",
            entered_at=timezone.now(),
        )


def actor(username: str, schema: str) -> Actor:
    return Actor(username=username, name=username, schema=schema)


def cleanup(world: World, identifiers: list[uuid.UUID], course_codes: tuple[str, ...] = ()) -> None:
    """Remove what a live_db test committed: students (and their rows) in every test
    school, their index entries and cases."""
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import Student

    Case.objects.filter(student_uuid__in=identifiers).delete()
    IndexEntry.objects.filter(student_uuid__in=identifiers).delete()
    for key in ("a", "b", "c"):
        with school_context(getattr(world, key).schema):
            Student.objects.filter(name__startswith="转学测试").delete()
            if course_codes:
                from tenant_apps.grades.models import Course

                Course.objects.filter(code__in=course_codes).delete()
