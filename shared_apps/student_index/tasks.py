"""Nightly 查重 across every school: the index finds the groups, each school flags its
own records in its own schema."""

from __future__ import annotations

from celery import current_app, shared_task


@shared_task(name="student_index.recheck")
def recheck() -> int:
    from shared_apps.student_index.selectors import duplicate_flags
    from tenants.context import school_context
    from tenants.models import School

    flags = duplicate_flags()
    schemas = dict(School.objects.serving().values_list("pk", "schema_name"))
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
