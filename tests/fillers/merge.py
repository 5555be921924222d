"""URL parameters of 合并重复学籍 (bureau.merge_views): a merge in school A of two records
of their own (not named as the sentinel student: other fillers look that one up by name)."""

from __future__ import annotations

import datetime as dt
from typing import Any

PARAM_KINDS = {"merge_id": "int"}


def values(world: Any) -> dict[str, str]:
    from tenant_apps.registry.models import StudentMerge
    from tenants.context import school_context

    with school_context(world.a.schema):
        merge = StudentMerge.objects.filter(actor="哨兵合并").first()
        if merge is None:
            from common.actor import Actor
            from tenant_apps.registry.merge.services import student_merge
            from tenant_apps.registry.models import SchoolClass, Student

            klass = SchoolClass.objects.order_by("pk").first()
            assert klass is not None
            made = [
                Student.objects.create(
                    name="合并哨兵",
                    sex="1",
                    birth_date=dt.date(2018, 3, 1),
                    school_class=klass,
                    entry_year_month="202409",
                    audit_state=Student.Audit.REGISTERED,
                )
                for _ in range(2)
            ]
            done = student_merge(
                survivor_uuid=made[0].identifier,
                merged_uuid=made[1].identifier,
                choices={},
                family_from="survivor",
                actor=Actor(username="sentinel", name="哨兵合并", schema=world.a.schema),
            )
            StudentMerge.objects.filter(pk=done.merge_id).update(actor="哨兵合并")
            merge = StudentMerge.objects.get(pk=done.merge_id)
        return {"merge_id": str(merge.pk)}
