from django.urls import URLPattern, URLResolver, path

from tenant_apps.reports.certificates import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.cert_home, name="cert_home"),
    path("scheme/", views.cert_scheme, name="cert_scheme"),
    path("issue/", views.cert_issue, name="cert_issue"),
    path("issue-class/", views.cert_issue_class, name="cert_issue_class"),
    path("<int:cert_id>/", views.cert_detail, name="cert_detail"),
    path("<int:cert_id>/pdf/", views.cert_pdf, name="cert_pdf"),
    path("<int:cert_id>/reprint/", views.cert_reprint, name="cert_reprint"),
    path("<int:cert_id>/void/", views.cert_void, name="cert_void"),
]
