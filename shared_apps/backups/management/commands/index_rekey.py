from django.core.management.base import BaseCommand, CommandError

from tenants.models import School


class Command(BaseCommand):
    help = "为学生索引重新计算查重键（新增查重规则后运行一次；可重复运行）；--code 只处理一所学校。"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--code", help="10位学校标识码；不填则处理所有学校")

    def handle(self, *args: object, **o: object) -> None:
        from shared_apps.backups.index_rekey import index_rekey

        school_ids = None
        if o.get("code"):
            school = School.objects.schools().filter(code=o["code"]).first()
            if school is None:
                raise CommandError(f"没有学校标识码为 {o['code']} 的学校。")
            school_ids = [school.pk]
        total = index_rekey(school_ids=school_ids, say=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"共 {total} 条索引"))
