from django.core.management.base import BaseCommand

from shared_apps.regions.services import regions_load


class Command(BaseCommand):
    help = "加载（或更新）全国行政区划表（省、地、县、乡四级，12位代码）。"

    def handle(self, *args: object, **options: object) -> None:
        count = regions_load()
        self.stdout.write(f"行政区划：{count} 条")
