from django.urls import path

from shared_apps.bureau import courses, renumber_views, views

app_name = "bureau"
urlpatterns = [
    path("schools/new/", views.school_create_view, name="school_create"),
    path("schools/<int:school_id>/", views.school_detail_view, name="school_detail"),
    path("schools/<int:school_id>/opened/", views.school_opened_view, name="school_opened"),
    path("schools/<int:school_id>/status/", views.school_status_view, name="school_status"),
    path("stats/", views.stats_view, name="stats"),
    path("bureaus/", views.bureau_list_view, name="bureau_list"),
    path("audit/", views.audit_view, name="audit"),
    path("evidence/", views.evidence_view, name="evidence"),
    path("renumber/", renumber_views.renumber_view, name="renumber"),
    path("schools/<int:school_id>/courses/", courses.school_courses_view, name="school_courses"),
]
