from django.urls import URLPattern, URLResolver, path

from tenant_apps.reports.gradestats import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home_view, name="grades_home"),
    path("compare/classes/", views.compare_classes_view, name="grades_compare_classes"),
    path("compare/terms/", views.compare_terms_view, name="grades_compare_terms"),
    path("export/<str:stats_table>/", views.export_view, name="grades_export"),
    path("sheets/class/<int:class_id>/", views.class_sheet_view, name="grades_sheet_class"),
    path(
        "sheets/student/<int:mark_student_id>/",
        views.student_sheet_view,
        name="grades_sheet_student",
    ),
]

from tenant_apps.reports.gradestats import import_views  # noqa: E402

urlpatterns += [
    path("import/", import_views.import_view, name="grades_import"),
    path(
        "import/template/<int:class_id>/",
        import_views.import_template_view,
        name="grades_import_template",
    ),
    path("import/confirm/", import_views.import_confirm_view, name="grades_import_confirm"),
]
