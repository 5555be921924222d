from django.urls import include, path

from tenant_apps.registry.changes import views as change_views
from tenant_apps.registry.classes import views as class_views
from tenant_apps.registry.imports import views as import_views
from tenant_apps.registry.keydata import views as keydata_views
from tenant_apps.registry.policy import views as settings_views
from tenant_apps.registry.problems import views as problem_views
from tenant_apps.registry.students import views

app_name = "registry"
urlpatterns = [
    path("students/", views.student_list_view, name="student_list"),
    path("students/new/", views.student_create_view, name="student_create"),
    path("students/submit/", views.student_submit_view, name="student_submit"),
    path("students/export/", views.student_export_view, name="student_export"),
    path(
        "students/export/<str:token>/",
        views.student_export_download_view,
        name="export_download",
    ),
    path("students/<uuid:student_id>/", views.student_detail_view, name="student_detail"),
    path("students/<uuid:student_id>/reveal/", views.student_reveal_view, name="student_reveal"),
    path("students/<uuid:student_id>/edit/", views.student_edit_view, name="student_edit"),
    path(
        "students/<uuid:student_id>/changes/new/",
        change_views.change_create_view,
        name="change_create",
    ),
    path("changes/", change_views.change_list_view, name="change_list"),
    path("changes/<int:change_id>/", change_views.change_detail_view, name="change_detail"),
    path("changes/<int:change_id>/decide/", change_views.change_decide_view, name="change_decide"),
    path(
        "changes/<int:change_id>/withdraw/",
        change_views.change_withdraw_view,
        name="change_withdraw",
    ),
    path(
        "students/<uuid:student_id>/keydata/new/",
        keydata_views.keydata_create_view,
        name="keydata_create",
    ),
    path("keydata/", keydata_views.keydata_list_view, name="keydata_list"),
    path("keydata/<int:keydata_id>/", keydata_views.keydata_detail_view, name="keydata_detail"),
    path(
        "keydata/<int:keydata_id>/decide/",
        keydata_views.keydata_decide_view,
        name="keydata_decide",
    ),
    path(
        "keydata/<int:keydata_id>/withdraw/",
        keydata_views.keydata_withdraw_view,
        name="keydata_withdraw",
    ),
    path("audit/", views.audit_view, name="audit"),
    path("problems/", problem_views.problem_list_view, name="problems"),
    path(
        "problems/<int:problem_id>/delete/",
        problem_views.problem_delete_view,
        name="problem_delete",
    ),
    path(
        "problems/<int:problem_id>/correct/",
        problem_views.problem_correct_view,
        name="problem_correct",
    ),
    path(
        "problems/<int:problem_id>/evidence/",
        problem_views.problem_evidence_view,
        name="problem_evidence",
    ),
    path("imports/", import_views.import_start_view, name="import_start"),
    path("imports/<uuid:batch_id>/", import_views.import_detail_view, name="import_detail"),
    path(
        "imports/<uuid:batch_id>/confirm/", import_views.import_confirm_view, name="import_confirm"
    ),
    path("stats/", views.stats_view, name="stats"),
    path("settings/fields/", settings_views.field_settings_view, name="field_settings"),
    path(
        "classes/<int:class_id>/roster-check/",
        class_views.roster_confirm_view,
        name="roster_confirm",
    ),
    path("", include("tenant_apps.registry.photos.urls")),
    path("", include("tenant_apps.registry.photos.intake_urls")),
]
