"""营养改善计划 (rosters.programme, bureau.nutrition): school A in the programme with the
sentinel student ticked as a beneficiary (registered, in school, indexed), so a page of
A's beneficiaries, its roster, its flags or the county's pages reaching another school or
another county shows up. The routes take no parameter of their own (school_id is A's)."""

from __future__ import annotations

import datetime as dt
from typing import Any

PARAM_KINDS: dict[str, str] = {}


def values(world: Any) -> dict[str, str]:
    from common.actor import Actor
    from conftest import SENTINEL_STUDENT
    from shared_apps.nutrition.models import ProgrammeSchool
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.registry.models import Student
    from tenant_apps.registry.students.services import index_record
    from tenant_apps.rosters.models import Beneficiary
    from tenant_apps.rosters.programme.services import beneficiaries_save
    from tenants.context import school_context

    if not ProgrammeSchool.objects.filter(school_id=world.a.id, until__isnull=True).exists():
        ProgrammeSchool.objects.create(
            school_id=world.a.id, since=dt.date(2026, 9, 1), marked_by="isolation"
        )
    with school_context(world.a.schema):
        student = Student.objects.get(name=SENTINEL_STUDENT)
        if not Beneficiary.objects.filter(student=student, until__isnull=True).exists():
            Student.objects.filter(pk=student.pk).update(audit_state=Student.Audit.REGISTERED)
            student.refresh_from_db()
            index_upsert(school_id=world.a.id, records=[index_record(student)])
            beneficiaries_save(
                tick=[student.pk],
                untick=[],
                on=dt.date(2026, 9, 1),
                actor=Actor(username="registrar", name="isolation", schema=world.a.schema),
            )
    return {}
