"""Every table of the report app (label ``reports``, each school's own schema). Each part
keeps its models in its own module; this package re-exports them, one line a part."""

from tenant_apps.reports.models.certificates import (
    Certificate,
    CertificateCounter,
    CertificateScheme,
    Kind,
)
from tenant_apps.reports.models.query import SavedQuery
from tenant_apps.reports.models.stats import PromotionSettings, StatsSnapshot, StatsSnapshotRow

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
