"""Reads of student photos: the current photo and its history, signed links to the files,
the completeness list per class and the intake deadline banner (domain.md §3.13).

Who is counted: the pupils 在读 by registry.counts (registered and in school), the one
definition every figure uses; a record still in draft gets its photo like any other but
is not yet a pupil of the school's figures.

Links: every file is handed out as a signed `/files/<token>/` link made for the request's
account (tenants.storage.download_url); tenants.storage.SCHOOL_FILE_RIGHTS lets holders
of 查看学籍 or 照片采集 open a photo link made in a task.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from tenant_apps.registry import counts
from tenant_apps.registry.models import SchoolClass, Student, StudentPhoto
from tenants.storage import download_url

# 新生照片 are due by the end of September (seed L791); the banner shows from September.
DEADLINE_MONTH, DEADLINE_DAY = 9, 30
MSG_BANNER = "新生照片请于9月30日前采集完成：还差 {n} 名"
MSG_BANNER_LATE = "新生照片采集已过9月30日期限：还差 {n} 名"

CURRENT = StudentPhoto.Status.CURRENT


def photo_current(*, student_id: int) -> StudentPhoto | None:
    return StudentPhoto.objects.filter(student_id=student_id, status=CURRENT).first()


def photo_get(*, photo_id: int, student_id: int) -> StudentPhoto | None:
    return StudentPhoto.objects.filter(pk=photo_id, student_id=student_id).first()


def photo_history(*, student_id: int) -> QuerySet[StudentPhoto]:
    """Every photo of the student, newest first (current, pending, replaced, rejected)."""
    return StudentPhoto.objects.filter(student_id=student_id).order_by("-created_at", "-id")


def photos_pending(*, source: str = "") -> QuerySet[StudentPhoto]:
    """Photos waiting for the school's decision (family uploads), oldest first."""
    query = StudentPhoto.objects.filter(status=StudentPhoto.Status.PENDING)
    if source:
        query = query.filter(source=source)
    return query.select_related("student", "student__school_class").order_by("created_at", "id")


def photo_url(photo: StudentPhoto | None) -> str:
    """The signed link to the national file; "" without a photo."""
    return download_url(photo.file_key) if photo is not None and photo.file_key else ""


def photo_original_url(photo: StudentPhoto | None) -> str:
    return download_url(photo.original_key) if photo is not None and photo.original_key else ""


def photo_urls(*, student_ids: Iterable[int]) -> dict[int, str]:
    """student id → signed link to the current photo, for the students that have one (the
    student list's thumbnails: one query for the page)."""
    keys = StudentPhoto.objects.filter(student_id__in=list(student_ids), status=CURRENT)
    return {sid: download_url(key) for sid, key in keys.values_list("student_id", "file_key")}


def has_current_photo() -> Exists:
    return Exists(StudentPhoto.objects.filter(student_id=OuterRef("pk"), status=CURRENT))


@dataclass(frozen=True)
class Missing:
    student_id: int
    identifier: str
    name: str
    number_in_class: int


@dataclass(frozen=True)
class ClassCompleteness:
    class_id: int
    class_name: str
    class_no: str
    pupils: int
    with_photo: int
    missing: tuple[Missing, ...]

    @property
    def missing_count(self) -> int:
        return self.pupils - self.with_photo


def completeness(*, class_ids: Collection[int] | None = None) -> list[ClassCompleteness]:
    """Per class (in class number order, classes without pupils left out): pupils 在读,
    how many have a current photo, and who has none."""
    query = (
        Student.objects.filter(counts.IN_SCHOOL)
        .annotate(has_photo=has_current_photo())
        .values(
            "pk",
            "identifier",
            "name",
            "number_in_class",
            "has_photo",
            "school_class_id",
        )
        .order_by("school_class__class_no", "number_in_class", "pk")
    )
    if class_ids is not None:
        query = query.filter(school_class_id__in=list(class_ids))
    by_class: dict[int, list[Any]] = {}
    for row in query:
        by_class.setdefault(int(row["school_class_id"]), []).append(row)
    classes = SchoolClass.objects.filter(pk__in=list(by_class)).order_by("class_no")
    result = []
    for klass in classes:
        rows = by_class[klass.pk]
        missing = tuple(
            Missing(
                student_id=int(r["pk"]),
                identifier=str(r["identifier"]),
                name=str(r["name"]),
                number_in_class=int(r["number_in_class"] or 0),
            )
            for r in rows
            if not r["has_photo"]
        )
        result.append(
            ClassCompleteness(
                class_id=klass.pk,
                class_name=klass.name,
                class_no=klass.class_no,
                pupils=len(rows),
                with_photo=len(rows) - len(missing),
                missing=missing,
            )
        )
    return result


def missing_count(*, entry_year: int | None = None) -> int:
    """Pupils 在读 without a current photo (of one intake year when given)."""
    query = Student.objects.filter(counts.IN_SCHOOL).exclude(has_current_photo())
    if entry_year is not None:
        query = query.filter(school_class__entry_year=entry_year)
    return query.count()


def deadline_banner(*, today: dt.date) -> str:
    """From September to the end of the year, while intake pupils (classes entered this
    year) lack a photo: how many are left, and whether 30 September has passed. ""
    otherwise (the banner is not shown)."""
    if today.month < DEADLINE_MONTH:
        return ""
    n = missing_count(entry_year=today.year)
    if not n:
        return ""
    due = dt.date(today.year, DEADLINE_MONTH, DEADLINE_DAY)
    return (_(MSG_BANNER) if today <= due else _(MSG_BANNER_LATE)).format(n=n)
