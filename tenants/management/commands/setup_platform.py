from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import BaseCommand

from shared_apps.regions.models import Region
from shared_apps.regions.services import regions_load
from tenants.models import School
from tenants.services import clone_constraint_names_restore, platform_setup
from tenants.storage import storage_ensure_bucket


class Command(BaseCommand):
    help = (
        "一次完成部署准备（可重复执行）：迁移公共库、加载行政区划、创建平台与学校模板、"
        "迁移全部学校库。"
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--executor", default="multiprocessing", choices=["standard", "multiprocessing"]
        )

    def handle(self, *args: object, **options: object) -> None:
        verbosity = int(options.get("verbosity", 1))  # type: ignore[call-overload]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        if not Region.objects.exists():
            count = regions_load()
            self.stdout.write(f"行政区划：已加载 {count} 条")
        platform_setup()
        storage_ensure_bucket(default_storage)
        # Every school and the template: clones must always start from the latest state.
        call_command(
            "migrate_schemas",
            tenant=True,
            interactive=False,
            verbosity=verbosity,
            executor=options["executor"],
        )
        # Schools cloned before the constraint-name repair existed get it now (cheap no-op
        # for the others), so every later migration finds Django's names everywhere.
        for schema in School.objects.schools().values_list("schema_name", flat=True):
            clone_constraint_names_restore(schema_name=schema)
        self.stdout.write(self.style.SUCCESS(f"平台就绪（模板库 {settings.TENANT_BASE_SCHEMA}）。"))
