from django.urls import URLPattern, URLResolver, path

from tenant_apps.reports.printing import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.print_home_view, name="print_home"),
    path("make/", views.print_make_view, name="print_make"),
    path("files/<str:print_token>/", views.print_download_view, name="print_download"),
]
