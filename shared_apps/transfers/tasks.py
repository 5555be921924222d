"""Beat tasks of the business-case engine (public schema)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="transfers.escalate_overdue")
def escalate_overdue() -> int:
    from shared_apps.transfers.services import cases_escalate_overdue

    return cases_escalate_overdue()
