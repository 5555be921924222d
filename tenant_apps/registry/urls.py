from django.urls import path

from tenant_apps.registry import views

app_name = "registry"
urlpatterns = [
    path("classes/", views.class_list_view, name="class_list"),
    path("students/", views.student_list_view, name="student_list"),
    path("stats/", views.stats_view, name="stats"),
    path("grades/", views.grades_entry_view, name="grades_entry"),
]
