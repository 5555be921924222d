from django.urls import path

from tenant_apps.school_admin import teacher_views, views

app_name = "school_admin"
urlpatterns = [
    path("setup/", views.setup_view, name="setup"),
    path("info/", views.info_view, name="info"),
    path("grades/", views.grades_view, name="grades"),
    path("grades/new/", views.grade_create_view, name="grade_create"),
    path("grades/<int:grade_id>/", views.grade_edit_view, name="grade_edit"),
    path("grades/<int:grade_id>/delete/", views.grade_delete_view, name="grade_delete"),
    path("classes/", views.classes_view, name="classes"),
    path("classes/new/", views.class_create_view, name="class_create"),
    path("classes/copy/", views.classes_copy_view, name="classes_copy"),
    path("classes/<int:class_id>/", views.class_edit_view, name="class_edit"),
    path("classes/<int:class_id>/merge/", views.class_merge_view, name="class_merge"),
    path("classes/<int:class_id>/delete/", views.class_delete_view, name="class_delete"),
    path("groups/", views.groups_view, name="groups"),
    path("groups/new/", views.group_create_view, name="group_create"),
    path("groups/<int:group_id>/", views.group_edit_view, name="group_edit"),
    path("groups/<int:group_id>/delete/", views.group_delete_view, name="group_delete"),
    path("teachers/", teacher_views.teachers_view, name="teachers"),
    path("teachers/new/", teacher_views.teacher_create_view, name="teacher_create"),
    path("teachers/export/", teacher_views.teacher_export_view, name="teacher_export"),
    path("teachers/import/", teacher_views.teacher_import_view, name="teacher_import"),
    path(
        "teachers/import/confirm/",
        teacher_views.teacher_import_confirm_view,
        name="teacher_import_confirm",
    ),
    path("teachers/<int:teacher_id>/", teacher_views.teacher_edit_view, name="teacher_edit"),
    path(
        "teachers/<int:teacher_id>/deactivate/",
        teacher_views.teacher_deactivate_view,
        name="teacher_deactivate",
    ),
    path(
        "teachers/<int:teacher_id>/transfer/",
        teacher_views.teacher_transfer_view,
        name="teacher_transfer",
    ),
    path(
        "teachers/<int:teacher_id>/reactivate/",
        teacher_views.teacher_reactivate_view,
        name="teacher_reactivate",
    ),
]
