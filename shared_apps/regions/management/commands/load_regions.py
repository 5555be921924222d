from django.core.management.base import BaseCommand

from shared_apps.regions.services import regions_load


class Command(BaseCommand):
    help = (
        "加载（或更新）全国行政区划表（省、地、县、乡四级，12位代码）"
        "及1980年以来县级以上区划代码的变更历史。"
    )

    def handle(self, *args: object, **options: object) -> None:
        from shared_apps.regions.models import RegionVersion

        count = regions_load()
        former = RegionVersion.objects.filter(valid_until__isnull=False).count()
        self.stdout.write(f"行政区划：{count} 条；已撤销的历史代码：{former} 条")
