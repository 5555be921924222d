from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Progress of long-running work (imports, exports, provisioning), public schema."""

    name = "shared_apps.jobs"
    label = "jobs"
    verbose_name = "后台任务"
