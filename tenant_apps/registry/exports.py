from __future__ import annotations

from django.db.models import QuerySet

from common.masking import mask_id_number
from tenant_apps.registry.codes import code_tables
from tenant_apps.registry.fields import STUDENT_COLUMNS
from tenant_apps.registry.models import Student


def students_export(qs: QuerySet[Student]) -> bytes:
    """The list as the national template's student columns, codes shown as labels and ID
    numbers masked (the full export is a separate, logged action)."""
    from tenant_apps.registry.workbooks import rows_export

    tables = code_tables()

    def display(student: Student, key: str, kind: str, table: str | None) -> str:
        if key == "class_no":
            return student.school_class.class_no
        if key == "grade":
            return student.school_class.grade_name
        value = getattr(student, key, "")
        if key == "id_number":
            return mask_id_number(str(value))
        if value is None:
            return ""
        if kind == "yesno":
            return "是" if value else "否"
        if kind == "date8":
            return value.strftime("%Y%m%d")
        if table and table in tables:
            return tables[table].labels.get(str(value), str(value))
        return str(value)

    rows = (
        {c.key: display(s, c.key, c.kind, c.code_table) for c in STUDENT_COLUMNS}
        for s in qs.select_related("school_class").iterator(chunk_size=2000)
    )
    return rows_export(rows=rows, columns=STUDENT_COLUMNS)
