"""A school's own host (<slug>.BASE_DOMAIN)."""

from django.urls import include, path

from accounts import api_urls as account_api_urls
from accounts import audit_apis, audit_views
from accounts.apis import UserListCreateApi
from accounts.rights_apis import RegistrarAppointApi
from accounts.views import user_password_reset_view
from config.urls_common import common_patterns
from shared_apps.backups import urls as backup_urls
from shared_apps.transfers import urls as transfer_urls
from tenant_apps.grades import apis as grades_apis
from tenant_apps.registry.changes import apis as change_apis
from tenant_apps.registry.classes import apis as roster_apis
from tenant_apps.registry.keydata import apis as keydata_apis
from tenant_apps.registry.lifecycle import intake_views, rollover_views
from tenant_apps.registry.photos import apis as photo_apis
from tenant_apps.registry.policy.rights_views import rights_view
from tenant_apps.registry.students import apis as registry_apis
from tenant_apps.registry.students.views import school_home
from tenant_apps.reports.certificates import apis as cert_apis
from tenant_apps.reports.certificates import views as cert_views
from tenant_apps.reports.printing import apis as print_apis
from tenant_apps.school_admin import apis as school_apis
from tenant_apps.school_admin import teacher_apis

urlpatterns = [
    path("", school_home, name="home"),
    path("school/", include("tenant_apps.school_admin.urls")),
    path("registry/", include("tenant_apps.registry.urls")),
    path("registry/", include("tenant_apps.registry.lifecycle.urls")),
    path("api/v1/rollover/", rollover_views.RolloverApi.as_view(), name="api-rollover"),
    path("api/v1/roster-checks/", roster_apis.RosterCheckApi.as_view(), name="api-roster-checks"),
    path("api/v1/intake/lookup/", intake_views.IntakeLookupApi.as_view(), name="api-intake-lookup"),
    path("api/v1/intake/", intake_views.IntakeApplyApi.as_view(), name="api-intake"),
    path("grades/", include("tenant_apps.grades.urls")),
    path("reports/", include("tenant_apps.reports.urls")),
    path("rosters/", include("tenant_apps.rosters.urls")),
    path("api/v1/rosters/", include("tenant_apps.rosters.api_urls")),
    path(
        "api/v1/grades/assignments/",
        grades_apis.AssignmentListApi.as_view(),
        name="api-grades-assignments",
    ),
    path(
        "api/v1/grades/entry/<int:class_course_id>/",
        grades_apis.GridApi.as_view(),
        name="api-grades-grid",
    ),
    path("api/v1/school/", school_apis.SchoolInfoApi.as_view(), name="api-school-info"),
    path("api/v1/school/staff/", school_apis.StaffListApi.as_view(), name="api-school-staff"),
    path(
        "api/v1/school/checklist/",
        school_apis.ChecklistApi.as_view(),
        name="api-school-checklist",
    ),
    path("api/v1/school/grades/", school_apis.GradeListApi.as_view(), name="api-grade-list"),
    path(
        "api/v1/school/grades/<int:grade_id>/",
        school_apis.GradeDetailApi.as_view(),
        name="api-grade-detail",
    ),
    path("api/v1/school/teachers/", teacher_apis.TeacherListApi.as_view(), name="api-teacher-list"),
    path(
        "api/v1/school/teachers/template/",
        teacher_apis.TeacherTemplateApi.as_view(),
        name="api-teacher-template",
    ),
    path(
        "api/v1/school/teachers/import/",
        teacher_apis.TeacherImportApi.as_view(),
        name="api-teacher-import",
    ),
    path(
        "api/v1/school/teachers/<int:teacher_id>/",
        teacher_apis.TeacherDetailApi.as_view(),
        name="api-teacher-detail",
    ),
    path(
        "api/v1/school/teachers/<int:teacher_id>/deactivate/",
        teacher_apis.TeacherDeactivateApi.as_view(),
        name="api-teacher-deactivate",
    ),
    path(
        "api/v1/school/teachers/<int:teacher_id>/transfer/",
        teacher_apis.TeacherTransferApi.as_view(),
        name="api-teacher-transfer",
    ),
    path("api/v1/classes/", school_apis.ClassListApi.as_view(), name="api-class-list"),
    path(
        "api/v1/classes/copy-to-intake/",
        school_apis.ClassCopyApi.as_view(),
        name="api-class-copy",
    ),
    path(
        "api/v1/classes/<int:class_id>/",
        school_apis.ClassDetailApi.as_view(),
        name="api-class-detail",
    ),
    path(
        "api/v1/classes/<int:class_id>/merge/",
        school_apis.ClassMergeApi.as_view(),
        name="api-class-merge",
    ),
    path("api/v1/students/", registry_apis.StudentListCreateApi.as_view(), name="api-student-list"),
    path(
        "api/v1/students/<uuid:student_id>/photo/",
        photo_apis.StudentPhotoApi.as_view(),
        name="api-student-photo",
    ),
    path(
        "api/v1/students/<uuid:student_id>/photo/<int:photo_id>/decide/",
        photo_apis.StudentPhotoDecideApi.as_view(),
        name="api-student-photo-decide",
    ),
    path(
        "api/v1/students/export/",
        registry_apis.StudentExportApi.as_view(),
        name="api-student-export",
    ),
    path(
        "api/v1/students/submit/",
        registry_apis.StudentSubmitApi.as_view(),
        name="api-student-submit",
    ),
    path(
        "api/v1/students/school-decision/",
        registry_apis.StudentSchoolDecisionApi.as_view(),
        name="api-student-school-decision",
    ),
    path(
        "api/v1/students/<uuid:student_id>/",
        registry_apis.StudentDetailApi.as_view(),
        name="api-student-detail",
    ),
    path(
        "api/v1/imports/template/",
        registry_apis.ImportTemplateApi.as_view(),
        name="api-import-template",
    ),
    path("api/v1/imports/", registry_apis.ImportCreateApi.as_view(), name="api-import-create"),
    path(
        "api/v1/imports/<uuid:batch_id>/",
        registry_apis.ImportDetailApi.as_view(),
        name="api-import-detail",
    ),
    path(
        "api/v1/imports/<uuid:batch_id>/confirm/",
        registry_apis.ImportConfirmApi.as_view(),
        name="api-import-confirm",
    ),
    path(
        "api/v1/students/<uuid:student_id>/blockers/",
        change_apis.StudentBlockersApi.as_view(),
        name="api-student-blockers",
    ),
    path(
        "api/v1/status-changes/",
        change_apis.ChangeListCreateApi.as_view(),
        name="api-status-change-list",
    ),
    path(
        "api/v1/status-changes/<int:change_id>/",
        change_apis.ChangeDetailApi.as_view(),
        name="api-status-change-detail",
    ),
    path(
        "api/v1/status-changes/<int:change_id>/decision/",
        change_apis.ChangeDecisionApi.as_view(),
        name="api-status-change-decision",
    ),
    path(
        "api/v1/status-changes/<int:change_id>/withdraw/",
        change_apis.ChangeWithdrawApi.as_view(),
        name="api-status-change-withdraw",
    ),
    path(
        "api/v1/key-data-changes/",
        keydata_apis.KeyDataListCreateApi.as_view(),
        name="api-key-data-list",
    ),
    path(
        "api/v1/key-data-changes/<int:keydata_id>/",
        keydata_apis.KeyDataDetailApi.as_view(),
        name="api-key-data-detail",
    ),
    path(
        "api/v1/key-data-changes/<int:keydata_id>/decision/",
        keydata_apis.KeyDataDecisionApi.as_view(),
        name="api-key-data-decision",
    ),
    path(
        "api/v1/key-data-changes/<int:keydata_id>/withdraw/",
        keydata_apis.KeyDataWithdrawApi.as_view(),
        name="api-key-data-withdraw",
    ),
    path("api/v1/problems/", registry_apis.ProblemListApi.as_view(), name="api-problem-list"),
    path(
        "api/v1/problems/<int:problem_id>/delete/",
        registry_apis.ProblemDeleteApi.as_view(),
        name="api-problem-delete",
    ),
    path(
        "api/v1/problems/<int:problem_id>/correct/",
        registry_apis.ProblemCorrectApi.as_view(),
        name="api-problem-correct",
    ),
    path(
        "api/v1/problems/<int:problem_id>/evidence/",
        registry_apis.ProblemEvidenceApi.as_view(),
        name="api-problem-evidence",
    ),
    path("api/v1/users/", UserListCreateApi.as_view(), name="api-user-list"),
    path("accounts/rights/", rights_view, name="account_rights"),
    # School accounts only (the bureau host has no school account to reset).
    path(
        "accounts/users/<int:user_id>/password-reset/",
        user_password_reset_view,
        name="user_password_reset",
    ),
    path(
        "api/v1/users/<int:user_id>/appoint-registrar/",
        RegistrarAppointApi.as_view(),
        name="api-user-appoint-registrar",
    ),
    *account_api_urls.school_patterns,
    path("accounts/audit/", audit_views.school_audit_view, name="audit_log"),
    path("accounts/audit/export/", audit_views.school_audit_export_view, name="audit_log_export"),
    path("api/v1/audit-log/", audit_apis.SchoolAuditLogApi.as_view(), name="api-audit-log"),
    path("", include((transfer_urls.school_patterns, "transfers"))),
    path("", include((backup_urls.school_patterns, "backups"))),
    # Certificates (reports.certificates); /verify/ is public: the QR code on every
    # certificate opens it, no sign-in.
    path("verify/<str:verify_code>/", cert_views.cert_verify, name="cert_verify"),
    path(
        "api/v1/reports/certificates/",
        cert_apis.CertificateListApi.as_view(),
        name="api-cert-list",
    ),
    path(
        "api/v1/reports/certificates/<int:cert_id>/",
        cert_apis.CertificateDetailApi.as_view(),
        name="api-cert-detail",
    ),
    path(
        "api/v1/reports/certificates/<int:cert_id>/reprint/",
        cert_apis.CertificateReprintApi.as_view(),
        name="api-cert-reprint",
    ),
    path(
        "api/v1/reports/certificates/<int:cert_id>/void/",
        cert_apis.CertificateVoidApi.as_view(),
        name="api-cert-void",
    ),
    path(
        "api/v1/reports/certificates/<int:cert_id>/pdf/",
        cert_apis.CertificatePdfApi.as_view(),
        name="api-cert-pdf",
    ),
    path(
        "api/v1/reports/verify/<str:verify_code>/",
        cert_apis.CertificateVerifyApi.as_view(),
        name="api-cert-verify",
    ),
    # The print centre's API (tenant_apps.reports.printing).
    path("api/v1/reports/print/", print_apis.PrintApi.as_view(), name="api-reports-print"),
    path(
        "api/v1/reports/print/files/<str:print_token>/",
        print_apis.PrintFileApi.as_view(),
        name="api-reports-print-file",
    ),
    *common_patterns("config.urls_school"),
]

# 查询统计's API (tenant_apps.reports.stats.apis): one endpoint per table.
from tenant_apps.reports.stats import apis as reports_stats_apis  # noqa: E402

urlpatterns += reports_stats_apis.urlpatterns
# -- 报表 · 综合查询 API (tenant_apps/reports/query) ------------------------------------
from tenant_apps.reports.query import apis as report_query_apis  # noqa: E402

urlpatterns += [
    path(
        "api/v1/reports/query/",
        report_query_apis.QueryRunApi.as_view(),
        name="api-reports-query-run",
    ),
    path(
        "api/v1/reports/query/fields/",
        report_query_apis.QueryFieldsApi.as_view(),
        name="api-reports-query-fields",
    ),
    path(
        "api/v1/reports/query/export/",
        report_query_apis.QueryExportApi.as_view(),
        name="api-reports-query-export",
    ),
    path(
        "api/v1/reports/query/saved/",
        report_query_apis.SavedQueryListApi.as_view(),
        name="api-reports-query-saved-list",
    ),
    path(
        "api/v1/reports/query/saved/<uuid:query_id>/",
        report_query_apis.SavedQueryDetailApi.as_view(),
        name="api-reports-query-saved-detail",
    ),
]
# issue 15, grade statistics (tenant_apps.reports.gradestats): tables, mark sheets, import.
urlpatterns += [
    path("api/v1/reports/grades/", include("tenant_apps.reports.gradestats.api_urls")),
]
