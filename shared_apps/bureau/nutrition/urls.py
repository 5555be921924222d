"""Routes of 营养改善计划 on the bureau host (in the bureau's namespace, /bureau/nutrition/)."""

from django.urls import path

from shared_apps.bureau.nutrition import views

page_patterns = [
    path("nutrition/", views.programme_schools_view, name="nutrition_schools"),
    path(
        "nutrition/schools/<int:school_id>/mark/",
        views.programme_mark_view,
        name="nutrition_mark",
    ),
    path("nutrition/counts/", views.programme_counts_view, name="nutrition_counts"),
    path(
        "nutrition/counts/export/",
        views.programme_counts_export_view,
        name="nutrition_counts_export",
    ),
    path("nutrition/flags/", views.programme_flags_view, name="nutrition_flags"),
]
