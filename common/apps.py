from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Cross-cutting code with no tables: API error format, permissions, health probes."""

    name = "common"
    label = "common"
