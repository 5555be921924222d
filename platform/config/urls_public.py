"""The bureau and platform host (BASE_DOMAIN)."""

from django.urls import include, path

from accounts import api_urls as account_api_urls
from accounts import audit_apis, audit_views
from config.urls_common import common_patterns
from shared_apps.backups import urls as backup_urls
from shared_apps.bureau import apis as bureau_apis
from shared_apps.bureau import renumber_views
from shared_apps.bureau.dashboard import apis as dashboard_apis
from shared_apps.bureau.quality import urls as quality_urls
from shared_apps.bureau.views import bureau_home
from shared_apps.transfers import urls as transfer_urls

urlpatterns = [
    path("", bureau_home, name="home"),
    path("bureau/", include("shared_apps.bureau.urls")),
    path("api/v1/schools/", bureau_apis.SchoolListCreateApi.as_view(), name="api-school-list"),
    path(
        "api/v1/schools/<int:school_id>/",
        bureau_apis.SchoolDetailApi.as_view(),
        name="api-school-detail",
    ),
    path(
        "api/v1/schools/<int:school_id>/status/",
        bureau_apis.SchoolStatusApi.as_view(),
        name="api-school-status",
    ),
    path("api/v1/bureaus/", bureau_apis.BureauListCreateApi.as_view(), name="api-bureau-list"),
    path("api/v1/audit/students/", bureau_apis.CountyAuditListApi.as_view(), name="api-audit-list"),
    path(
        "api/v1/audit/students/decision/",
        bureau_apis.CountyAuditDecisionApi.as_view(),
        name="api-audit-decision",
    ),
    path(
        "api/v1/audit/students/<int:school_id>/<uuid:student_id>/",
        bureau_apis.CountyAuditRecordApi.as_view(),
        name="api-audit-record",
    ),
    path("api/v1/audit/queue/", bureau_apis.CountyQueueApi.as_view(), name="api-audit-queue"),
    path("api/v1/audit/evidence/", bureau_apis.EvidenceListApi.as_view(), name="api-evidence-list"),
    path(
        "api/v1/audit/evidence/<int:review_id>/",
        bureau_apis.EvidenceRecordApi.as_view(),
        name="api-evidence-record",
    ),
    path(
        "api/v1/audit/evidence/<int:review_id>/decision/",
        bureau_apis.EvidenceDecisionApi.as_view(),
        name="api-evidence-decision",
    ),
    path("api/v1/renumber/", renumber_views.RenumberApi.as_view(), name="api-renumber"),
    *dashboard_apis.api_patterns,
    path("accounts/audit/", audit_views.bureau_audit_view, name="audit_log"),
    path("accounts/audit/export/", audit_views.bureau_audit_export_view, name="audit_log_export"),
    path("api/v1/audit-log/", audit_apis.BureauAuditLogApi.as_view(), name="api-audit-log"),
    path("", include((transfer_urls.public_patterns, "transfers"))),
    path("", include((backup_urls.public_patterns, "backups"))),
    *quality_urls.api_patterns,
    *account_api_urls.public_patterns,
    *common_patterns("config.urls_public"),
]
