from django.apps import AppConfig


class BureauConfig(AppConfig):
    """The bureau's pages and APIs over the schools of its region (public schema)."""

    name = "shared_apps.bureau"
    label = "bureau"
    verbose_name = "教育局"
