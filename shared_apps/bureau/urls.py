from django.urls import include, path

from shared_apps.bureau import (
    admissions_views,
    courses,
    joint_views,
    merge_views,
    renumber_views,
    verification_views,
    views,
)
from shared_apps.bureau.nutrition import urls as nutrition_urls
from shared_apps.bureau.quality import urls as quality_urls

app_name = "bureau"
urlpatterns = [
    path("schools/new/", views.school_create_view, name="school_create"),
    path("schools/<int:school_id>/", views.school_detail_view, name="school_detail"),
    path("schools/<int:school_id>/opened/", views.school_opened_view, name="school_opened"),
    path("schools/<int:school_id>/status/", views.school_status_view, name="school_status"),
    path("stats/", views.stats_view, name="stats"),
    path("dashboard/", include("shared_apps.bureau.dashboard.urls")),
    path("bureaus/", views.bureau_list_view, name="bureau_list"),
    path("audit/", views.audit_view, name="audit"),
    path(
        "audit/<int:school_id>/<uuid:student_id>/",
        views.audit_registration_view,
        name="audit_registration",
    ),
    path("evidence/", views.evidence_view, name="evidence"),
    path("evidence/<int:review_id>/", views.evidence_detail_view, name="evidence_detail"),
    path("renumber/", renumber_views.renumber_view, name="renumber"),
    path("joint/", joint_views.joint_list_view, name="joint"),
    path("joint/<int:joint_id>/decide/", joint_views.joint_decide_view, name="joint_decide"),
    path("merge/", merge_views.merge_view, name="merge"),
    path(
        "merge/<int:school_id>/<int:merge_id>/undo/",
        merge_views.merge_undo_view,
        name="merge_undo",
    ),
    path("verification/", verification_views.verification_view, name="verification"),
    path(
        "schools/<int:school_id>/deleted/",
        verification_views.school_deleted_view,
        name="school_deleted",
    ),
    path("schools/<int:school_id>/courses/", courses.school_courses_view, name="school_courses"),
    path("admissions/", admissions_views.admissions_view, name="admissions"),
    path("admissions/upload/", admissions_views.admissions_upload_view, name="admissions_upload"),
    path("admissions/export/", admissions_views.admissions_export_view, name="admissions_export"),
    path(
        "admissions/<int:school_id>/",
        admissions_views.admissions_school_view,
        name="admissions_school",
    ),
    path(
        "admissions/<int:school_id>/overrides/",
        admissions_views.admissions_override_view,
        name="admissions_override",
    ),
    path(
        "admissions/<int:school_id>/overrides/<int:override_id>/revoke/",
        admissions_views.admissions_revoke_view,
        name="admissions_revoke",
    ),
    *quality_urls.page_patterns,
    *nutrition_urls.page_patterns,
]
