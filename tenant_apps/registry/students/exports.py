from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from accounts.audit import READ_EXPORT, READ_EXPORT_FULL, audit_record
from common.masking import mask_id_number, mask_phone
from tenant_apps.registry.codes import code_tables
from tenant_apps.registry.fields import STUDENT_COLUMNS
from tenant_apps.registry.models import Student

FILTER_PARAMS = ("q", "class_id", "status", "audit_state")
PROGRESS_ROWS = 1000
EXPORT_LINK_SALT = "registry.students.exports.download"
MSG_EXPORT_DONE = "已导出 {n} 名学生，点击“查看结果”下载（24小时内有效）。"


def students_export(
    qs: QuerySet[Student],
    *,
    request: Any = None,
    full: bool | None = None,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """The list as the national template's student columns, codes shown as labels, ID
    numbers and phones masked. `?full=1` (or `full`) exports them in full (recorded as
    read.export.full; the view may ask for the password again). With a request, the
    export is recorded in the audit log with its filters and row count before the file is
    handed out (a job's export is recorded when it is asked for: export_start).
    `progress(rows)` is called every PROGRESS_ROWS rows."""
    from tenant_apps.registry.imports.export import rows_export

    params = getattr(request, "GET", {}) if request is not None else {}
    if full is None:
        full = params.get("full") == "1"
    tables = code_tables()

    def display(student: Student, key: str, kind: str, table: str | None) -> str:
        if key == "class_no":
            return student.school_class.class_no
        if key == "grade":
            return student.school_class.grade_name
        value = getattr(student, key, "")
        if value is None:
            return ""
        if kind == "id_number" and not full:
            return mask_id_number(str(value))
        if kind == "phone" and not full:
            return mask_phone(str(value))
        if kind == "yesno":
            return "是" if value else "否"
        if kind == "date8":
            return value.strftime("%Y%m%d")  # type: ignore[no-any-return,union-attr]
        if table and table in tables:
            return tables[table].labels.get(str(value), str(value))
        return str(value)

    count = 0

    def rows() -> Any:
        nonlocal count
        for s in qs.select_related("school_class").iterator(chunk_size=2000):
            count += 1
            if progress is not None and count % PROGRESS_ROWS == 0:
                progress(count)
            yield {c.key: display(s, c.key, c.kind, c.code_table) for c in STUDENT_COLUMNS}

    data = rows_export(rows=rows(), columns=STUDENT_COLUMNS)
    if request is not None:
        audit_record(
            request=request,
            action=READ_EXPORT_FULL if full else READ_EXPORT,
            object_type="student",
            after={
                "rows": count,
                "filters": {k: params[k] for k in FILTER_PARAMS if params.get(k)},
            },
        )
    return data


def export_start(
    *, request: Any, filters: dict[str, Any], full: bool, class_ids: list[int] | None
) -> str:
    """Ask for the roster as a file made by a job (registry.students_export_run): the
    export is recorded in the audit log now, with its filters and row count, and the
    page follows the job's progress. Returns the job id."""
    from django.db import transaction

    from shared_apps.jobs.services import job_create
    from tenant_apps.registry.students.selectors import student_list
    from tenant_apps.registry.tasks import students_export_run

    rows = student_list(**filters, class_ids=class_ids).count()
    audit_record(
        request=request,
        action=READ_EXPORT_FULL if full else READ_EXPORT,
        object_type="student",
        after={"rows": rows, "filters": {k: v for k, v in filters.items() if v}},
    )
    job = job_create(owner_id=request.user.pk, kind="student_export", title="导出学生名册")
    job_id = str(job.pk)
    transaction.on_commit(lambda: students_export_run.delay(job_id, filters, full, class_ids))
    return job_id


def export_run(
    *,
    job_id: str,
    filters: dict[str, Any],
    full: bool,
    class_ids: list[int] | None,
    progress: Callable[[int, str], None],
) -> tuple[str, int]:
    """Make the file and store it; (storage key, rows). Runs again from scratch if its
    worker died: it writes nothing but its own file."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from tenant_apps.registry.students.selectors import student_list

    qs = student_list(**filters, class_ids=class_ids)
    total = qs.count()
    progress(2, f"共 {total} 名学生，正在导出……")

    def step(done: int) -> None:
        progress(2 + 90 * done // max(total, 1), f"已导出 {done} / {total} 名……")

    data = students_export(qs, full=full, progress=step)
    progress(95, "正在保存文件……")
    key = default_storage.save(
        f"exports/学生名册-{timezone.localdate():%Y%m%d}.xlsx", ContentFile(data)
    )
    return key, total


def export_link(*, job_id: str, key: str) -> str:
    """The job's result link: a page of this school that opens the file for the job's
    owner only (the file itself is then served through a /files/ link made for them)."""
    from django.urls import reverse

    from shared_apps.jobs.links import job_file_token

    token = job_file_token(job_id=job_id, key=key, salt=EXPORT_LINK_SALT)
    return reverse("registry:export_download", kwargs={"token": token})
