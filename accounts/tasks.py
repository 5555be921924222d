"""Celery entry points for accounts: the audit log's retention purge."""

from __future__ import annotations

from celery import current_app, shared_task


@shared_task(name="accounts.tasks.audit_purge")
def audit_purge() -> int:
    """Purge the audit entries of the schema the task was sent from (a school's, or
    public), older than AUDIT_RETENTION_DAYS."""
    from django.conf import settings

    from accounts.audit import audit_purge as purge

    return purge(older_than_days=settings.AUDIT_RETENTION_DAYS)


@shared_task(name="accounts.tasks.audit_purge_fan_out")
def audit_purge_fan_out() -> int:
    """Beat runs in public: purge public here and send one purge per school schema.

    Unlike tenants.tasks.schools_fan_out this includes suspended schools (their data is
    kept, so the retention applies to it); the template and unbuilt schools are left out.
    Returns the number of schools sent."""
    from django.conf import settings

    from accounts.audit import audit_purge as purge
    from tenants.context import school_context
    from tenants.models import School

    schemas = list(
        School.objects.schools()
        .filter(provisioning=School.Provisioning.READY)
        .values_list("schema_name", flat=True)
    )
    for schema in schemas:
        # Sending inside the school's context makes tenant-schemas-celery stamp its schema.
        with school_context(schema):
            current_app.send_task("accounts.tasks.audit_purge")
    with school_context("public"):
        purge(older_than_days=settings.AUDIT_RETENTION_DAYS)
    return len(schemas)
