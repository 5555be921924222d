from django.apps import AppConfig


class SchoolAdminConfig(AppConfig):
    """The school's own set-up pages (学校管理): profile, grades, classes and the
    start-of-year checklist. No models: it writes through tenants.profile and
    registry.classes.services (each school's schema)."""

    name = "tenant_apps.school_admin"
    label = "school_admin"
    verbose_name = "学校管理"
