from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.audit import READ_EXPORT, READ_EXPORT_FULL, audit_record
from common.masking import mask_id_number, mask_phone
from tenant_apps.registry.codes import code_tables
from tenant_apps.registry.fields import STUDENT_COLUMNS
from tenant_apps.registry.models import Student

FILTER_PARAMS = ("q", "class_id", "status", "audit_state")


def students_export(qs: QuerySet[Student], *, request: Any = None) -> bytes:
    """The list as the national template's student columns, codes shown as labels, ID
    numbers and phones masked. `?full=1` exports them in full (recorded as
    read.export.full; the view may ask for the password again). With a request, the
    export is recorded in the audit log with its filters and row count before the file is
    handed out."""
    from tenant_apps.registry.workbooks import rows_export

    params = getattr(request, "GET", {}) if request is not None else {}
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
            return value.strftime("%Y%m%d")
        if table and table in tables:
            return tables[table].labels.get(str(value), str(value))
        return str(value)

    count = 0

    def rows() -> Any:
        nonlocal count
        for s in qs.select_related("school_class").iterator(chunk_size=2000):
            count += 1
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
