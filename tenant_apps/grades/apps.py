from django.apps import AppConfig


class GradesConfig(AppConfig):
    """Courses, grade-entry permissions and marks (each school's own schema)."""

    name = "tenant_apps.grades"
    label = "grades"
    verbose_name = "成绩"

    def ready(self) -> None:
        # Course cells two users can mark are 交叉授权 too (accounts.rights knows no grades).
        from tenant_apps.grades.rights_hooks import register_rights_hooks

        register_rights_hooks()
