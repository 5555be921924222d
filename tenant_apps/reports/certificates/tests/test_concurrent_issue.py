"""Two issues at the same moment, on two connections with committed data (live_db, no
test transaction: the row locks must be real): consecutive numbers from the counter
row's lock, and of two 毕业证书 for the same pupil exactly one."""

from __future__ import annotations

import threading

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from common.actor import Actor
from conftest import SENTINEL_STUDENT, World
from tenants.context import school_context

ACTOR = Actor(username="registrar", name="学籍管理员", schema="")


def test_two_issues_at_once_get_two_numbers_and_one_diploma(live_db: World) -> None:
    """Two threads (two connections) issue at the same moment: the counter row's lock
    gives consecutive numbers; of two 毕业证书 for the same pupil exactly one is issued."""
    from common.exceptions import ApplicationError
    from tenant_apps.registry.models import Student, StudentEvent
    from tenant_apps.reports.certificates import services
    from tenant_apps.reports.models.certificates import (
        Certificate,
        CertificateCounter,
        CertificateScheme,
    )

    world = live_db
    with school_context(world.a.schema):
        sentinel = Student.objects.get(name=SENTINEL_STUDENT)
        before = (sentinel.status, sentinel.audit_state)
        Student.objects.filter(pk=sentinel.pk).update(audit_state="registered")
    connection.set_schema_to_public()

    def race(kind: str) -> list[object]:
        barrier = threading.Barrier(2)
        results: list[object] = []

        def work() -> None:
            from django.db import connection as conn

            try:
                with school_context(world.a.schema):
                    barrier.wait(timeout=10)
                    try:
                        cert = services.certificate_issue(
                            kind=kind, student_identifier=str(sentinel.identifier), actor=ACTOR
                        )
                        results.append(cert.number)
                    except ApplicationError as exc:
                        results.append(exc.code)
            except Exception as exc:  # reported by the assertion below
                results.append(repr(exc))
            finally:
                conn.close()

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        return results

    def used(kind: str) -> int:
        """The last number of `kind` this year (other tests of the live world issue too)."""
        with school_context(world.a.schema):
            last = CertificateCounter.objects.filter(kind=kind, year=year).aggregate(m=Max("last"))
        connection.set_schema_to_public()
        return int(last["m"] or 0)

    def number(n: int) -> str:
        return f"{world.a.code}{year}{n:04d}"

    year = timezone.localdate().year
    try:
        start = used("enrolment")
        numbers = race("enrolment")
        assert sorted(numbers) == [number(start + 1), number(start + 2)]  # type: ignore[type-var]
        with school_context(world.a.schema):
            Student.objects.filter(pk=sentinel.pk).update(status="07")
        connection.set_schema_to_public()
        start = used("diploma")
        outcome = race("diploma")
        assert sorted(map(str, outcome)) == sorted([number(start + 1), "duplicate"])
    finally:
        with school_context(world.a.schema):
            Certificate.objects.all().delete()
            CertificateCounter.objects.all().delete()
            CertificateScheme.objects.all().delete()
            StudentEvent.objects.filter(student_id=sentinel.pk).delete()
            Student.objects.filter(pk=sentinel.pk).update(status=before[0], audit_state=before[1])
        connection.set_schema_to_public()
