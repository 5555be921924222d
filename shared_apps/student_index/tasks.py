"""Nightly 查重 across every school: the index finds the groups, each school flags its
own records in its own schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery import current_app, shared_task

if TYPE_CHECKING:
    from shared_apps.student_index.selectors import Flag


LOW_PRIORITY_KEPT_SECONDS = 2 * 24 * 3600  # two nights: one failed run keeps the last list


def low_priority_key(school_id: int) -> str:
    """Cache key of a school's low-priority list (set and read inside the school's schema:
    the tenants' cache keys carry it)."""
    return f"dedup-low:{school_id}"


def low_priority_store(flags: list[Flag], schemas: dict[int, str]) -> None:
    """Keep each school's low-priority flags (低优先级: never a 问题学籍) for its 问题学籍
    page: (own uuid, [(school id, uuid) of the others]) a record, uuids only."""
    from django.core.cache import cache

    from tenants.context import school_context

    by_school: dict[int, list[tuple[str, list[tuple[int, str]]]]] = {s: [] for s in schemas}
    for f in flags:
        if f.kind == "low" and f.school_id in by_school:
            others = [(sid, str(u)) for sid, u in f.others]
            by_school[f.school_id].append((str(f.student_uuid), others))
    for school_id, items in by_school.items():
        with school_context(schemas[school_id]):
            cache.set(low_priority_key(school_id), items, LOW_PRIORITY_KEPT_SECONDS)


@shared_task(name="student_index.recheck")
def recheck() -> int:
    from shared_apps.student_index.selectors import duplicate_flags
    from tenants.context import school_context
    from tenants.models import School

    # One grouping with the low-priority tier: a record's strongest match decides, so a
    # record sent to review is not listed as low priority too.
    every = duplicate_flags(low=True)
    schemas = dict(School.objects.serving().values_list("pk", "schema_name"))
    low_priority_store(every, schemas)
    flags = [f for f in every if f.kind != "low"]
    by_school: dict[int, list[dict[str, object]]] = {}
    for f in flags:
        by_school.setdefault(f.school_id, []).append(
            {
                "student_uuid": str(f.student_uuid),
                "kind": f.kind,
                "others": [[sid, str(u)] for sid, u in f.others],
            }
        )
    for school_id, items in by_school.items():
        if school_id in schemas:
            # Sent from inside the school so that tenant-schemas-celery runs it there.
            with school_context(schemas[school_id]):
                current_app.send_task("registry.problems_flag", args=[items])
    return len(flags)
