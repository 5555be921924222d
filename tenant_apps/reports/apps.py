from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The school's report app (报表): 查询统计, 综合查询, 打印中心, certificates and grade
    statistics. Each school's own schema. It reads the registry and grades through their
    selectors and facades and writes nothing of theirs (README "Architecture")."""

    name = "tenant_apps.reports"
    label = "reports"
    verbose_name = "报表"

    def ready(self) -> None:
        # 打印中心: its batch task (not in a tasks.py Celery's autodiscovery finds) and what
        # a lost batch tells its owner (jobs.services.job_abandon).
        from shared_apps.jobs.services import job_kind_register
        from tenant_apps.reports.printing import services as printing
        from tenant_apps.reports.printing import tasks as printing_tasks  # noqa: F401

        job_kind_register(printing.JOB_KIND, message=printing.MSG_LOST)
