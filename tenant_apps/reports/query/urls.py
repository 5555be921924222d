from django.urls import URLPattern, URLResolver, path

from tenant_apps.reports.query import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.query_home, name="query_home"),
    path("print/", views.query_print, name="query_print"),
    path("export/", views.query_export_view, name="query_export"),
    path("saved/", views.query_saved_create, name="query_saved_create"),
    path("saved/<uuid:query_id>/", views.query_saved_open, name="query_saved_open"),
    path("saved/<uuid:query_id>/rename/", views.query_saved_rename, name="query_saved_rename"),
    path("saved/<uuid:query_id>/delete/", views.query_saved_delete, name="query_saved_delete"),
]
