from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from shared_apps.regions.models import RegionVersion
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
        # A first `make run` applies every migration to public, the template and each
        # school: one line per migration and schema is thousands of lines, so they are
        # summarised unless -v 2 asks for them.
        migrate_verbosity = max(0, verbosity - 1)
        before = _applied_counts()
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=migrate_verbosity)
        # The code history came after the table: a database loaded before it gets both.
        if not RegionVersion.objects.exists():
            count = regions_load()
            self.stdout.write(f"行政区划：已加载 {count} 条")
        platform_setup()
        storage_ensure_bucket(default_storage)
        # Every school and the template: clones must always start from the latest state.
        call_command(
            "migrate_schemas",
            tenant=True,
            interactive=False,
            verbosity=migrate_verbosity,
            executor=options["executor"],
        )
        if verbosity:
            self.stdout.write(_migrations_summary(before, _applied_counts()))
        # Schools cloned before the constraint-name repair existed get it now (cheap no-op
        # for the others), so every later migration finds Django's names everywhere.
        for schema in School.objects.schools().values_list("schema_name", flat=True):
            clone_constraint_names_restore(schema_name=schema)
        self.stdout.write(self.style.SUCCESS(f"平台就绪（模板库 {settings.TENANT_BASE_SCHEMA}）。"))


def _applied_counts() -> dict[str, int]:
    """Migrations recorded per schema (public, the template, every school)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables"
            " WHERE table_name = 'django_migrations'"
        )
        schemas = [row[0] for row in cursor.fetchall()]
        counts = {}
        for schema in schemas:
            quoted = connection.ops.quote_name(schema)
            cursor.execute(f"SELECT count(*) FROM {quoted}.django_migrations")  # noqa: S608
            counts[schema] = int(cursor.fetchone()[0])
    return counts


def _migrations_summary(before: dict[str, int], after: dict[str, int]) -> str:
    """数据库迁移：公共库 12 项，学校库 3 个共 180 项（已是最新的不再列出）"""
    public = after.get("public", 0) - before.get("public", 0)
    schools = {s: n - before.get(s, 0) for s, n in after.items() if s != "public"}
    changed = {s: n for s, n in schools.items() if n}
    if not public and not changed:
        return "数据库迁移：全部已是最新。"
    return (
        f"数据库迁移：公共库 {public} 项，学校库（含模板）{len(changed)} 个共 "
        f"{sum(changed.values())} 项。"
    )
