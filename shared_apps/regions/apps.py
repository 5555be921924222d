from django.apps import AppConfig


class RegionsConfig(AppConfig):
    """Administrative divisions and the bureaus that sit on them (public schema)."""

    name = "shared_apps.regions"
    label = "regions"
    verbose_name = "行政区划"
