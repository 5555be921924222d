"""The report app's tables; each part keeps its own module and adds one import line."""

from tenant_apps.reports.models.certificates import (  # noqa: F401
    Certificate,
    CertificateCounter,
    CertificateScheme,
)
