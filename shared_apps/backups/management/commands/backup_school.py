from django.core.management.base import BaseCommand, CommandError

from common.exceptions import ApplicationError
from tenants.models import School


class Command(BaseCommand):
    help = (
        "备份一所学校（只含该校的数据）到 platform/backups/<schema>/；--list 只列出该校已有的备份。"
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--code", required=True, help="10位学校标识码")
        parser.add_argument("--list", action="store_true", help="只列出已有备份，不备份")

    def handle(self, *args: object, **o: object) -> None:
        from shared_apps.backups.selectors import backups_of
        from shared_apps.backups.services import school_backup

        school = School.objects.schools().filter(code=o["code"]).first()
        if school is None:
            raise CommandError(f"没有学校标识码为 {o['code']} 的学校。")
        if o["list"]:
            for b in backups_of(school_id=school.pk):
                self.stdout.write(
                    f"{b.pk}\t{b.created_at:%Y-%m-%d %H:%M:%S%z}\t{b.kind}\t{b.size}\t{b.key}"
                )
            return
        try:
            backup = school_backup(
                school_id=school.pk, kind="manual", created_by="manage.py backup_school"
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"备份 {backup.pk}：{backup.key}  {backup.size} 字节"))
