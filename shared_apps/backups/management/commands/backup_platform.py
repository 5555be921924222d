from django.core.management.base import BaseCommand, CommandError

from common.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "备份整个数据库（公共库和全部学校）：pg_dump --format=custom，"
        "存到 platform/backups/_full/<UTC时间>-<随机串>.dump。"
    )

    def handle(self, *args: object, **options: object) -> None:
        from shared_apps.backups.services import platform_backup

        try:
            dumped = platform_backup()
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{dumped.key}  {dumped.size} 字节  sha256 {dumped.sha256}  "
                f"用时 {dumped.seconds:.1f} 秒"
            )
        )
