from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """A school's classes and students (each school's own schema)."""

    name = "tenant_apps.registry"
    label = "registry"
    verbose_name = "学籍"
