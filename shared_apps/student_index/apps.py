from django.apps import AppConfig


class StudentIndexConfig(AppConfig):
    """The cross-school student index for duplicate checks (public schema)."""

    name = "shared_apps.student_index"
    label = "student_index"
    verbose_name = "学生索引"
