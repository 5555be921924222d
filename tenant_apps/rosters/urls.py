from django.urls import path

from tenant_apps.rosters import admissions_views, teacher_views, views
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
    # 师训平台教师名单核对: the teacher records' right, its own upload ids.
    path("teachers/", teacher_views.teachers_view, name="teachers"),
    path(
        "teachers/<uuid:teachers_upload_id>/",
        teacher_views.teachers_upload_view,
        name="teachers_upload",
    ),
    path(
        "teachers/<uuid:teachers_upload_id>/mapping/",
        teacher_views.teachers_mapping_view,
        name="teachers_mapping",
    ),
    path(
        "teachers/<uuid:teachers_upload_id>/rows/",
        teacher_views.teachers_rows_view,
        name="teachers_rows",
    ),
    path(
        "teachers/<uuid:teachers_upload_id>/rows/<int:teachers_row_id>/",
        teacher_views.teachers_row_save_view,
        name="teachers_row_save",
    ),
    path(
        "teachers/<uuid:teachers_upload_id>/confirm/",
        teacher_views.teachers_confirm_view,
        name="teachers_confirm",
    ),
    path("uploads/<uuid:upload_id>/diff/", admissions_views.upload_diff_view, name="upload_diff"),
    path("admissions/", admissions_views.admissions_view, name="admissions"),
    path("admissions/export/", admissions_views.admissions_export_view, name="admissions_export"),
    path("programme/", programme_views.programme_view, name="programme"),
    path("programme/roster/", programme_views.programme_roster_view, name="programme_roster"),
    path(
        "programme/roster/export/",
        programme_views.programme_roster_export_view,
        name="programme_roster_export",
    ),
]
