"""URL parameters of 招生比对 (bureau.admissions): an exception the county granted for a
pupil of school A carrying the sentinel student's name, so the other county's officer
aimed at it (or a page of another school showing it) shows up."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"override_id": "int"}


def values(world: Any) -> dict[str, str]:
    from conftest import SENTINEL_STUDENT
    from tenant_apps.rosters.models import AdmissionOverride
    from tenants.context import school_context

    with school_context(world.a.schema):
        override = AdmissionOverride.objects.filter(name=SENTINEL_STUDENT).first()
        if override is None:
            override = AdmissionOverride.objects.create(
                stage="primary",
                entry_year=2024,
                name=SENTINEL_STUDENT,
                sex="1",
                id_number="430181201803010016",
                reason="哨兵例外",
                granted_by="浏阳学籍（liuyang）",
            )
        return {"override_id": str(override.pk)}
