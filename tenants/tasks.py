"""Celery entry points for schools. Tasks load by id and call a service."""

from __future__ import annotations

from celery import current_app, shared_task


@shared_task(name="tenants.tasks.school_stats_refresh")
def school_stats_refresh() -> dict[str, int]:
    """Runs in the schema of the school that sent it (tenant-schemas-celery header). A full
    recount on demand only: no beat entry sends it any more, the live numbers follow every
    index write (student_index.live)."""
    from tenants.services import school_stats_refresh as refresh

    return refresh()


@shared_task(name="tenants.tasks.schools_fan_out")
def schools_fan_out(task_name: str) -> int:
    """Send one task per serving school. Beat runs in public, so each school is named
    explicitly; the template and suspended schools are never included."""
    from tenants.context import school_context
    from tenants.models import School

    schemas = list(School.objects.serving().values_list("schema_name", flat=True))
    for schema in schemas:
        # Sending inside the school's context makes tenant-schemas-celery stamp its schema.
        with school_context(schema):
            current_app.send_task(task_name)
    return len(schemas)
