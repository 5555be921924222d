from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """Per-school backups (pg_dump of one schema) and their restore, public schema."""

    name = "shared_apps.backups"
    label = "backups"
    verbose_name = "数据备份"

    def ready(self) -> None:
        # A restore is not run again by itself (a half-known state is for a person to
        # look at): what its job says when its worker died (jobs.services.job_abandon).
        from shared_apps.jobs.services import job_kind_register

        job_kind_register(
            "school_backup",
            message="备份被中断（后台处理进程意外退出），没有生成备份。请重新备份。",
        )
        job_kind_register(
            "school_restore",
            message="恢复被中断（后台处理进程意外退出）。请联系平台运营人员核查该校数据后再操作。",
        )
