"""URL parameters of 证书管理 (reports.certificates) and of the public /verify/ page."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"cert_id": "int", "verify_code": "str"}


def values(world: Any) -> dict[str, str]:
    """A 学籍证明 of school A's sentinel pupil (written directly: the filler needs a row,
    not the issue rules)."""
    from conftest import SENTINEL_STUDENT
    from tenant_apps.registry.models import Student
    from tenant_apps.reports.models.certificates import Certificate
    from tenants.context import school_context

    with school_context(world.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        cert = Certificate.objects.create(
            kind="enrolment",
            number="ISOLATION0001",
            code="KQ2345ABCD",
            student_identifier=student.identifier,
            values={"name": SENTINEL_STUDENT, "class_name": "x"},
            issued_by="registrar",
        )
    return {"cert_id": str(cert.pk), "verify_code": cert.code}
