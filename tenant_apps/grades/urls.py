from django.urls import path

from tenant_apps.grades import views

app_name = "grades"
urlpatterns = [
    path("", views.entry_list_view, name="entry"),
    path("entry/<int:class_course_id>/", views.grid_view, name="grid"),
    path("marks/", views.class_marks_view, name="class_marks"),
    path("courses/", views.courses_view, name="courses"),
    path("class-courses/", views.class_courses_view, name="class_courses"),
    path("assignments/", views.assignments_view, name="assignments"),
]
