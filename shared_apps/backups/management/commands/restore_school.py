from django.core.management.base import BaseCommand, CommandError

from common.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "恢复一份学校备份：--target same 覆盖该校当前的全部数据；--target new 另建一所"
        "已停用的学校（--code/--slug/--name）供核查。"
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--backup-id", type=int, required=True)
        parser.add_argument("--target", choices=["same", "new"], required=True)
        parser.add_argument("--code", default="", help="新学校的10位学校标识码（target new）")
        parser.add_argument("--slug", default="", help="新学校的域名前缀（target new）")
        parser.add_argument("--name", default="", help="新学校名称（target new）")
        parser.add_argument(
            "--yes", action="store_true", help="不再询问（target same 时须确认学校标识码）"
        )

    def handle(self, *args: object, **o: object) -> None:
        from shared_apps.backups.models import SchoolBackup
        from shared_apps.backups.services import school_restore

        backup = SchoolBackup.objects.select_related("school").filter(pk=o["backup_id"]).first()  # type: ignore[misc]
        if backup is None:
            raise CommandError(f"没有编号为 {o['backup_id']} 的备份。")
        if o["target"] == "same" and not o["yes"]:
            self.stdout.write(
                f"将用 {backup.created_at:%Y-%m-%d %H:%M:%S%z} 的备份覆盖"
                f"“{backup.school.name}”当前的全部数据。"
            )
            typed = input("请输入该校的学校标识码以确认：").strip()
            if typed != backup.school.code:
                raise CommandError("学校标识码不符，未做任何改动。")
        try:
            restored = school_restore(
                backup_id=backup.pk,
                target=str(o["target"]),
                acting_user=None,
                new_code=str(o["code"]),
                new_slug=str(o["slug"]),
                new_name=str(o["name"]),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        note = "（已停用，供核查）" if restored.target == "new" else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"已恢复到 {restored.schema_name}，{restored.host}{note}，"
                f"用时 {restored.seconds:.1f} 秒"
            )
        )
