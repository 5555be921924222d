"""Routes of 照片采集 (included by registry.urls, namespace registry)."""

from django.urls import path

from tenant_apps.registry.photos import views

urlpatterns = [
    path("photos/", views.photos_home_view, name="photos"),
    path("photos/export/", views.photo_export_view, name="photo_export"),
    path(
        "photos/export/<str:token>/",
        views.photo_export_download_view,
        name="photo_export_download",
    ),
    path("students/<uuid:student_id>/photo/", views.photo_upload_view, name="photo_upload"),
    path(
        "students/<uuid:student_id>/photo/<int:photo_id>/",
        views.photo_preview_view,
        name="photo_preview",
    ),
    path(
        "students/<uuid:student_id>/photo/<int:photo_id>/decide/",
        views.photo_decide_view,
        name="photo_decide",
    ),
]
