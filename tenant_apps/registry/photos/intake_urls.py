"""Routes of the photo ZIP import and the family upload link (included by registry.urls)."""

from django.urls import path

from tenant_apps.registry.photos import family_views

urlpatterns = [
    path("photos/family/links/", family_views.family_links_view, name="photo_family_links"),
    # Public: the family's link (no sign-in); the token names the school.
    path(
        "photos/family/<str:family_token>/",
        family_views.family_upload_view,
        name="photo_family",
    ),
]
