"""The grade statistics' API, mounted at api/v1/reports/grades/ (platform/config/
urls_school.py)."""

from django.urls import URLPattern, path

from tenant_apps.reports.gradestats import apis

urlpatterns: list[URLPattern] = [
    path("stats/<str:stats_table>/", apis.GradeStatsApi.as_view(), name="api-reports-grades-stats"),
    path(
        "stats/<str:stats_table>/export/",
        apis.GradeStatsExportApi.as_view(),
        name="api-reports-grades-stats-export",
    ),
    path(
        "sheets/class/<int:class_id>/",
        apis.ClassMarkSheetApi.as_view(),
        name="api-reports-grades-sheet-class",
    ),
    path(
        "sheets/student/<int:mark_student_id>/",
        apis.StudentMarkSheetApi.as_view(),
        name="api-reports-grades-sheet-student",
    ),
    path(
        "import/template/<int:class_id>/",
        apis.MarksImportTemplateApi.as_view(),
        name="api-reports-grades-import-template",
    ),
    path("import/", apis.MarksImportApi.as_view(), name="api-reports-grades-import"),
    path(
        "import/confirm/",
        apis.MarksImportConfirmApi.as_view(),
        name="api-reports-grades-import-confirm",
    ),
]
