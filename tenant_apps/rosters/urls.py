from django.urls import path

from tenant_apps.rosters import admissions_views, views

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
    path("uploads/<uuid:upload_id>/diff/", admissions_views.upload_diff_view, name="upload_diff"),
    path("admissions/", admissions_views.admissions_view, name="admissions"),
    path("admissions/export/", admissions_views.admissions_export_view, name="admissions_export"),
]
