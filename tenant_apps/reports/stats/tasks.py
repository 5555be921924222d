"""Celery entry points of 查询统计; they run in the school that sent them."""

from __future__ import annotations

from celery import shared_task


# Idempotent: a second run of the same day replaces that day's snapshot.
@shared_task(name="reports.stats_snapshot_daily")
def stats_snapshot_daily() -> int:
    """The day's snapshot of the current school (beat fans it out to every school)."""
    from tenant_apps.reports.stats.services import snapshot_take

    return snapshot_take().records
