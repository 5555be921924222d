from django.core.management.base import BaseCommand, CommandError

from common.exceptions import ApplicationError
from tenants.models import School
from tenants.services import AdminInput, SchoolInput, school_provision, school_register


class Command(BaseCommand):
    help = "开通一所学校（登记并创建学校库）。可重复执行：已登记的学校只补做未完成的步骤。"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--code", required=True, help="10位学校标识码")
        parser.add_argument("--name", help="学校名称（新登记时必填）")
        parser.add_argument("--slug", help="域名前缀（新登记时必填）")
        parser.add_argument("--county", help="所在县6位代码（新登记时必填）")
        parser.add_argument(
            "--stages", default="primary", help="学段，逗号分隔：primary,junior,senior"
        )
        parser.add_argument("--admin-username")
        parser.add_argument("--admin-name")

    def handle(self, *args: object, **o: str) -> None:
        school = School.objects.schools().filter(code=o["code"]).first()
        password = None
        if school is None:
            if not (o["name"] and o["slug"] and o["county"]):
                raise CommandError("新学校需要 --name、--slug 和 --county。")
            admin = (
                AdminInput(
                    username=o["admin_username"], full_name=o["admin_name"] or o["admin_username"]
                )
                if o["admin_username"]
                else None
            )
            try:
                registered = school_register(
                    data=SchoolInput(
                        name=o["name"],
                        code=o["code"],
                        slug=o["slug"],
                        county_code=o["county"],
                        stages=o["stages"].split(","),
                    ),
                    scope=None,
                    admin=admin,
                )
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            school_id, password = registered.school_id, registered.admin_initial_password
        else:
            school_id = school.pk
        school_provision(school_id=school_id)
        school = School.objects.get(pk=school_id)
        self.stdout.write(
            self.style.SUCCESS(f"{school.name} 已开通：{school.get_primary_domain().domain}")
        )
        if password:
            self.stdout.write(f"管理员 {o['admin_username']} 的初始密码（仅显示一次）：{password}")
