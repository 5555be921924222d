from django.core.management.base import BaseCommand

from demo.data import demo_load


class Command(BaseCommand):
    help = "加载演示数据（浏阳市教育局、三所学校、教职工、班级和学生）。可重复执行。"

    def handle(self, *args: object, **options: object) -> None:
        lines = demo_load()
        if int(options.get("verbosity", 1)) > 0:  # type: ignore[call-overload]
            for line in lines:
                self.stdout.write(line)
