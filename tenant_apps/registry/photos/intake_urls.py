"""Routes of the photo ZIP import and the family upload link (included by registry.urls)."""

from django.urls import path

from tenant_apps.registry.photos import bulk_views, family_views

urlpatterns = [
    path("photos/bulk/", bulk_views.bulk_start_view, name="photo_bulk_start"),
    path("photos/bulk/jobs/<uuid:job_id>/", bulk_views.bulk_job_view, name="photo_bulk_job"),
    path(
        "photos/bulk/reports/<str:report_token>/",
        bulk_views.bulk_report_view,
        name="photo_bulk_report",
    ),
    path(
        "photos/bulk/reports/<str:report_token>/confirm/",
        bulk_views.bulk_confirm_view,
        name="photo_bulk_confirm",
    ),
    path("photos/family/links/", family_views.family_links_view, name="photo_family_links"),
    # Public: the family's link (no sign-in); the token names the school.
    path(
        "photos/family/<str:family_token>/",
        family_views.family_upload_view,
        name="photo_family",
    ),
]
