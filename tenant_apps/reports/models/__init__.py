"""The report app's tables, one module per part, re-exported here."""

from tenant_apps.reports.models.stats import PromotionSettings, StatsSnapshot, StatsSnapshotRow

__all__ = ["PromotionSettings", "StatsSnapshot", "StatsSnapshotRow"]
