"""The national photo package (导出国家照片包, domain.md §3.13): a ZIP of every current photo
of the pupils 在读, ready for the national system's upload, made by a job.

Layout (the seed and the national pages):
    <年级>/<班级>/<身份证件号>.jpg                     pupils with an ID number
    无身份证件号/<学校标识码>_<班号>_<姓名>.jpg          pupils without one, one folder
                                                      for the school
The grade is the current school year's (一年级, 七年级 ...), the class its display name
(小学2024级(01)班), 班号 the 7-digit class number (column 23). Names are UTF-8 in the
ZIP (the UTF-8 flag is set by zipfile for non-ASCII names). The files are the national
files as stored: no re-encoding, they already meet size and bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from accounts.audit import READ_EXPORT, audit_record
from tenant_apps.registry import counts
from tenant_apps.registry.models import Student, StudentPhoto

KIND = "photo_export"
EXPORT_LINK_SALT = "registry.photos.exports.download"
NO_ID_FOLDER = "无身份证件号"
MSG_DONE = "已导出 {n} 张照片，点击“查看结果”下载（24小时内有效）。"
# An 18-digit resident ID (the last may be X); anything else is not a file name the
# national system reads as an ID number.
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


@dataclass(frozen=True)
class Entry:
    path: str  # inside the ZIP
    key: str  # the national file's storage key


def _safe(part: str) -> str:
    return _UNSAFE.sub("", part) or "_"


def _school_code() -> str:
    from tenants.models import School

    return str(
        School.objects.filter(schema_name=connection.schema_name)
        .values_list("code", flat=True)
        .first()
        or ""
    )


def export_entries() -> list[Entry]:
    """Every file of the package, in class and in-class number order."""
    from tenant_apps.registry.classes.services import grade_label

    code = _school_code()
    rows = (
        StudentPhoto.objects.filter(status=StudentPhoto.Status.CURRENT)
        .filter(student__in=Student.objects.filter(counts.IN_SCHOOL))
        .select_related("student__school_class")
        .order_by("student__school_class__class_no", "student__number_in_class", "student_id")
    )
    entries: list[Entry] = []
    seen: set[str] = set()
    for photo in rows:
        student = photo.student
        klass = student.school_class
        id_number = (student.id_number or "").strip().upper()
        if ID_NUMBER.match(id_number):
            grade = grade_label(klass.stage, klass.entry_year)
            path = f"{_safe(grade)}/{_safe(klass.name)}/{id_number}.jpg"
        else:
            path = f"{NO_ID_FOLDER}/{code}_{klass.class_no}_{_safe(student.name)}.jpg"
        if path in seen:  # two pupils of one class with one name and no ID number
            path = path[: -len(".jpg")] + f"_{student.number_in_class or student.pk}.jpg"
        seen.add(path)
        entries.append(Entry(path=path, key=photo.file_key))
    return entries


def export_zip(entries: list[Entry], *, progress: Callable[[int], None] | None = None) -> bytes:
    """The ZIP itself (stored, not deflated: JPEG does not compress)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for done, entry in enumerate(entries, start=1):
            with default_storage.open(entry.key, "rb") as f:
                archive.writestr(entry.path, f.read())
            if progress is not None and done % 50 == 0:
                progress(done)
    return out.getvalue()


def photo_export_start(*, request: Any) -> str:
    """Record the export in the audit log and start the job; returns the job id."""
    from django.db import transaction

    from shared_apps.jobs.services import job_create
    from tenant_apps.registry.tasks import photos_export_run

    rows = len(export_entries())
    audit_record(request=request, action=READ_EXPORT, object_type="photo", after={"照片数": rows})
    job = job_create(owner_id=request.user.pk, kind=KIND, title="导出国家照片包")
    job_id = str(job.pk)
    transaction.on_commit(lambda: photos_export_run.delay(job_id))
    return job_id


def export_run(*, progress: Callable[[int, str], None]) -> tuple[str, int]:
    """Make the package and store it under exports/; (storage key, photos). Writes nothing
    but its own file, so a lost run is simply made again."""
    entries = export_entries()
    total = len(entries)
    progress(2, f"共 {total} 张照片，正在打包……")

    def step(done: int) -> None:
        progress(2 + 90 * done // max(total, 1), f"已打包 {done} / {total} 张……")

    data = export_zip(entries, progress=step)
    progress(95, "正在保存文件……")
    key = default_storage.save(
        f"exports/学生照片-{timezone.localdate():%Y%m%d}.zip", ContentFile(data)
    )
    return str(key), total


def export_link(*, job_id: str, key: str) -> str:
    from django.urls import reverse

    from shared_apps.jobs.links import job_file_token

    token = job_file_token(job_id=job_id, key=key, salt=EXPORT_LINK_SALT)
    return reverse("registry:photo_export_download", kwargs={"token": token})
