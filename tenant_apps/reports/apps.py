from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The school's report app (报表): 查询统计, 综合查询, 打印中心, certificates and grade
    statistics. Each school's own schema. It reads the registry and grades through their
    selectors and facades and writes nothing of theirs (README "Architecture")."""

    name = "tenant_apps.reports"
    label = "reports"
    verbose_name = "报表"
