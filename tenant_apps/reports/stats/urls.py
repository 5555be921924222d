from django.urls import URLPattern, URLResolver, path

from tenant_apps.reports.stats import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.stats_home, name="stats_home"),
    path("stats/snapshot/", views.stats_snapshot_take, name="stats_snapshot_take"),
    path(
        "stats/promotion-settings/", views.stats_promotion_settings, name="stats_promotion_settings"
    ),
    path("stats/<slug:table>/", views.stats_table, name="stats_table"),
    path("stats/<slug:table>/export/", views.stats_table_export, name="stats_table_export"),
]
