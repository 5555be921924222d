"""Every table of the report app (label ``reports``, each school's own schema). Each part
keeps its models in its own module; this package re-exports them, one line a part."""

from tenant_apps.reports.models.certificates import (
    Kind,
    CertificateScheme,
    CertificateCounter,
    Certificate,
)
from tenant_apps.reports.models.query import SavedQuery
from tenant_apps.reports.models.stats import StatsSnapshot, StatsSnapshotRow, PromotionSettings

__all__ = [
    "Kind",
    "CertificateScheme",
    "CertificateCounter",
    "Certificate",
    "SavedQuery",
    "StatsSnapshot",
    "StatsSnapshotRow",
    "PromotionSettings",
]
