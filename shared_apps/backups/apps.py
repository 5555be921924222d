from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """Per-school backups (pg_dump of one schema) and their restore, public schema."""

    name = "shared_apps.backups"
    label = "backups"
    verbose_name = "数据备份"
