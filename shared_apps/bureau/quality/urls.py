"""Routes of 数据质量: the pages (in the bureau's namespace, under /bureau/quality/) and
the API (under /api/v1/quality/, included by the public URLconf)."""

from django.urls import path

from shared_apps.bureau.quality import apis, views

page_patterns = [
    path("quality/", views.quality_home_view, name="quality_home"),
    path("quality/deadlines/", views.roster_deadlines_view, name="quality_deadlines"),
    path("quality/deadlines/set/", views.roster_deadline_set_view, name="quality_deadline_set"),
    path("quality/schools/<int:school_id>/", views.quality_school_view, name="quality_school"),
    path(
        "quality/schools/<int:school_id>/<slug:figure>/",
        views.quality_list_view,
        name="quality_list",
    ),
    path(
        "quality/schools/<int:school_id>/<slug:figure>/export/",
        views.quality_export_view,
        name="quality_export",
    ),
]

api_patterns = [
    path("api/v1/quality/", apis.QualityListApi.as_view(), name="api-quality-list"),
    path(
        "api/v1/quality/deadlines/", apis.RosterDeadlineApi.as_view(), name="api-quality-deadlines"
    ),
    path(
        # <str:>, not <slug:>: an unknown figure gets the API's JSON 404 from the view.
        "api/v1/quality/schools/<int:school_id>/<str:figure>/",
        apis.QualityItemsApi.as_view(),
        name="api-quality-items",
    ),
]
