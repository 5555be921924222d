from django.urls import path

from tenant_apps.rosters import views
from tenant_apps.rosters.programme import views as programme_views

app_name = "rosters"

urlpatterns = [
    path("sources/", views.sources_view, name="sources"),
    path("nutrition/", views.nutrition_view, name="nutrition"),
    path("uploads/<uuid:upload_id>/", views.upload_view, name="upload"),
    path("uploads/<uuid:upload_id>/mapping/", views.mapping_view, name="mapping"),
    path("uploads/<uuid:upload_id>/classes/", views.classes_view, name="classes"),
    path("uploads/<uuid:upload_id>/rows/", views.rows_view, name="rows"),
    path("uploads/<uuid:upload_id>/rows/<int:row_id>/", views.row_save_view, name="row_save"),
    path("uploads/<uuid:upload_id>/promote/", views.promote_view, name="promote"),
    path("programme/", programme_views.programme_view, name="programme"),
    path("programme/roster/", programme_views.programme_roster_view, name="programme_roster"),
    path(
        "programme/roster/export/",
        programme_views.programme_roster_export_view,
        name="programme_roster_export",
    ),
]
