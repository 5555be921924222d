"""The report app's Celery tasks (autodiscovered here); each part keeps its own module."""

from tenant_apps.reports.stats.tasks import stats_snapshot_daily

__all__ = ["stats_snapshot_daily"]
