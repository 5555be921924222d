"""The dashboard's pages, under /bureau/dashboard/ (namespace "bureau")."""

from django.urls import URLPattern, path

from shared_apps.bureau.dashboard import views
from shared_apps.bureau.dashboard.selectors import TABLE_TITLES

TABLE_KEYS = list(TABLE_TITLES)

urlpatterns: list[URLPattern] = [
    path("", views.dashboard_view, name="dashboard"),
    path("county/<str:county>/", views.dashboard_county_view, name="dashboard_county"),
    path("township/<str:township>/", views.dashboard_township_view, name="dashboard_township"),
    path("school/<int:school_id>/", views.dashboard_school_view, name="dashboard_school"),
    path(
        "school/<int:school_id>/grade/<str:stage>/<int:entry_year>/",
        views.dashboard_grade_view,
        name="dashboard_grade",
    ),
    path(
        "school/<int:school_id>/stats/<slug:table>/",
        views.school_stats_view,
        name="dashboard_school_stats",
    ),
    # One export route per table (no path parameter: the scope is in the query string).
    *(
        path(
            f"{key}/export/",
            views.dashboard_export_view,
            {"dash_table": key},
            name=f"dashboard_export_{key}",
        )
        for key in TABLE_KEYS
    ),
    path("report/", views.dashboard_report_view, name="dashboard_report"),
]
