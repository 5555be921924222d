"""The report app's pages and APIs on the school's host, under /reports/ (platform/config/
urls_school.py). Each part keeps its own URLconf; the names share the namespace "reports"."""

from django.urls import include, path

app_name = "reports"
urlpatterns = [
    path("", include("tenant_apps.reports.stats.urls")),
    path("query/", include("tenant_apps.reports.query.urls")),
    path("print/", include("tenant_apps.reports.printing.urls")),
    path("certificates/", include("tenant_apps.reports.certificates.urls")),
    path("grades/", include("tenant_apps.reports.gradestats.urls")),
]
