from django.apps import AppConfig


class GradesConfig(AppConfig):
    """Courses, grade-entry permissions and marks (each school's own schema)."""

    name = "tenant_apps.grades"
    label = "grades"
    verbose_name = "成绩"
