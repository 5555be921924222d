"""Writes on schools: set-up of the platform, registration, provisioning, status, stats."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_exists

from accounts.roles import Role
from accounts.services import CreatedUser, initial_password_generate, user_create
from common.exceptions import ApplicationError
from shared_apps.regions.models import Region
from tenants.citus import citus_enabled
from tenants.context import school_context
from tenants.models import Domain, School, SchoolStats
from tenants.validators import validate_school_code, validate_slug

TEMPLATE_SCHEMA = settings.TENANT_BASE_SCHEMA

MSG_CODE_TAKEN = "学校标识码“{code}”已被“{name}”使用。"
MSG_SLUG_TAKEN = "域名前缀“{slug}”已被占用。"
MSG_COUNTY = "所在县（市、区）代码“{code}”不是县级行政区划。"
MSG_OUTSIDE = "该县（市、区）不在您的管辖范围内。"
MSG_PROVINCE_MISMATCH = "学校标识码中的省份代码（{code}）与所在县的省份（{county}）不一致。"
MSG_STAGES = "请至少选择一个学段。"


def platform_setup() -> None:
    """Idempotent: the public tenant and its host, and the empty template schema.

    Run after `migrate_schemas --shared`; `setup_platform` then migrates every schema,
    the template included, so clones always start from the latest migrations.
    """
    public, _ = School.objects.get_or_create(
        schema_name="public",
        defaults={
            "name": "学籍管理平台",
            "kind": School.Kind.PUBLIC,
            "provisioning": School.Provisioning.READY,
        },
    )
    Domain.objects.update_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )
    template, _ = School.objects.get_or_create(
        schema_name=TEMPLATE_SCHEMA,
        defaults={"name": "模板（不对外服务）", "kind": School.Kind.TEMPLATE},
    )
    if not schema_exists(TEMPLATE_SCHEMA):
        # The template itself must be migrated, not cloned from itself.
        template.create_schema(check_if_exists=True, verbosity=0)
    School.objects.filter(pk=template.pk).update(provisioning=School.Provisioning.READY)
    with school_context("public"):
        from accounts.services import groups_ensure

        groups_ensure()


@dataclass(frozen=True)
class SchoolInput:
    name: str
    code: str
    slug: str
    county_code: str
    stages: list[str] = field(default_factory=list)
    address: str = ""
    principal: str = ""
    phone: str = ""


@dataclass(frozen=True)
class AdminInput:
    username: str
    full_name: str


@dataclass(frozen=True)
class RegisteredSchool:
    school_id: int
    schema_name: str
    host: str
    admin_username: str | None
    admin_initial_password: str | None


def _county_for(code: str, scope: Region | None) -> Region:
    county = Region.objects.filter(code=code.ljust(12, "0")).first()
    if county is None or county.level != Region.Level.COUNTY:
        raise ApplicationError(
            MSG_COUNTY.format(code=code),
            code="county",
            extra={"county_code": [MSG_COUNTY.format(code=code)]},
        )
    if scope is not None and not county.code.startswith(scope.prefix):
        raise ApplicationError(MSG_OUTSIDE, code="scope", extra={"county_code": [MSG_OUTSIDE]})
    return county


def _field_error(name: str, exc: ValidationError) -> ApplicationError:
    return ApplicationError(exc.messages[0], code="invalid", extra={name: exc.messages})


@transaction.atomic
def school_register(
    *, data: SchoolInput, scope: Region | None, admin: AdminInput | None = None
) -> RegisteredSchool:
    """Record a new school (pending) with its host; provisioning creates the schema.

    `scope` is the acting bureau's region (None for the platform itself). An initial
    administrator's password is generated here and shown once; only its hash waits on
    the school row until provisioning creates the account inside the new schema.
    """
    try:
        code = validate_school_code(data.code)
    except ValidationError as exc:
        raise _field_error("code", exc) from exc
    try:
        slug = validate_slug(data.slug)
    except ValidationError as exc:
        raise _field_error("slug", exc) from exc
    county = _county_for(data.county_code, scope)
    if county.code[:2] != code[2:4]:
        msg = MSG_PROVINCE_MISMATCH.format(code=code[2:4], county=county.code[:2])
        raise ApplicationError(msg, code="invalid", extra={"code": [msg]})
    stages = [s for s in data.stages if s in School.Stage.values]
    if not stages:
        raise ApplicationError(MSG_STAGES, code="invalid", extra={"stages": [MSG_STAGES]})
    existing = School.objects.filter(code=code).first()
    if existing is not None:
        msg = MSG_CODE_TAKEN.format(code=code, name=existing.name)
        raise ApplicationError(msg, code="duplicate", extra={"code": [msg]})
    if School.objects.filter(slug=slug).exists():
        msg = MSG_SLUG_TAKEN.format(slug=slug)
        raise ApplicationError(msg, code="duplicate", extra={"slug": [msg]})

    password = initial_password_generate() if admin else None
    school = School(
        kind=School.Kind.SCHOOL,
        schema_name=f"s{code}",
        name=data.name.strip(),
        code=code,
        slug=slug,
        stages=stages,
        county=county,
        address=data.address.strip(),
        principal=data.principal.strip(),
        phone=data.phone.strip(),
        pending_admin=(
            {
                "username": admin.username.strip(),
                "full_name": admin.full_name.strip(),
                "password_hash": make_password(password),
            }
            if admin
            else None
        ),
    )
    school.full_clean(exclude=["schema_name"])
    school.save()
    host = f"{slug}.{settings.BASE_DOMAIN}"
    Domain.objects.create(tenant=school, domain=host, is_primary=True)
    return RegisteredSchool(
        school_id=school.pk,
        schema_name=school.schema_name,
        host=host,
        admin_username=admin.username.strip() if admin else None,
        admin_initial_password=password,
    )


def _advisory_key(schema_name: str) -> int:
    return int.from_bytes(hashlib.sha256(schema_name.encode()).digest()[:8], "big", signed=True)


def school_provision(*, school_id: int) -> None:
    """Create the school's schema by cloning the template; safe to retry and to race.

    Not wrapped in one transaction: cloning runs its own statements and migrate --fake.
    A session advisory lock serialises concurrent attempts on the same school. A schema
    left by a failed attempt is dropped and re-cloned, which is safe because a school
    that never reached READY has never served a request.
    """
    school = School.objects.get(pk=school_id, kind=School.Kind.SCHOOL)
    key = _advisory_key(school.schema_name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        school.refresh_from_db()
        if school.provisioning != School.Provisioning.READY:
            if schema_exists(school.schema_name):
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP SCHEMA "{school.schema_name}" CASCADE')
            try:
                if citus_enabled():
                    _schema_create_by_migrations(schema_name=school.schema_name)
                else:
                    school.create_schema(check_if_exists=False, verbosity=0)
                    clone_constraint_names_restore(schema_name=school.schema_name)
            except Exception:
                School.objects.filter(pk=school.pk).update(provisioning=School.Provisioning.FAILED)
                raise
            School.objects.filter(pk=school.pk).update(provisioning=School.Provisioning.READY)
        _school_admin_create_pending(school_id=school.pk)
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _schema_create_by_migrations(*, schema_name: str) -> None:
    """A school schema by running every migration, as on Citus (README "Running on Citus").

    Cloning cannot finish there: the clone keeps PostgreSQL's default constraint names and
    Citus refuses to rename them ("renaming constraints belonging to distributed tables is
    currently unsupported"); migrations give Django's names from the start.
    """
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command(
        "migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=0
    )


CONSTRAINTS_SQL = """
    SELECT t.relname, c.contype, pg_get_constraintdef(c.oid), c.conname
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = %s
    ORDER BY 1, 2, 3, 4
"""


def clone_constraint_names_restore(*, schema_name: str) -> int:
    """Give a cloned schema the template's constraint names; return how many changed.

    django-tenants' clone_schema re-creates unique constraints under PostgreSQL's default
    names (table_cols_key) instead of Django's (…_uniq, or the model's own name). A later
    migration that drops or alters such a constraint by name would then fail on every
    cloned school, so the names are restored right after cloning. Renaming a constraint
    also renames its index.
    """
    if not schema_exists(TEMPLATE_SCHEMA) or schema_name == TEMPLATE_SCHEMA:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(CONSTRAINTS_SQL, [TEMPLATE_SCHEMA])
        wanted: dict[tuple[str, str, str], list[str]] = {}
        for table, kind, definition, name in cursor.fetchall():
            wanted.setdefault((table, kind, definition), []).append(name)
        cursor.execute(CONSTRAINTS_SQL, [schema_name])
        have: dict[tuple[str, str, str], list[str]] = {}
        for table, kind, definition, name in cursor.fetchall():
            have.setdefault(
                (table, kind, definition.replace(schema_name, TEMPLATE_SCHEMA)), []
            ).append(name)
        renamed = 0
        for key, names in have.items():
            targets = wanted.get(key, [])
            if sorted(names) == sorted(targets) or len(names) != len(targets):
                continue
            for current, target in zip(sorted(names), sorted(targets), strict=True):
                if current != target:
                    cursor.execute(
                        f'ALTER TABLE "{schema_name}"."{key[0]}" '
                        f'RENAME CONSTRAINT "{current}" TO "{target}"'
                    )
                    renamed += 1
    return renamed


def _school_admin_create_pending(*, school_id: int) -> CreatedUser | None:
    school = School.objects.get(pk=school_id)
    pending = school.pending_admin
    if not pending:
        return None
    created: CreatedUser | None = None
    with school_context(school.schema_name):
        from accounts.models import User

        if not User.objects.filter(username=pending["username"]).exists():
            created = user_create(
                username=pending["username"],
                full_name=pending["full_name"],
                roles=[Role.SCHOOL_ADMIN],
                password_hash=pending["password_hash"],
            )
    School.objects.filter(pk=school_id).update(pending_admin=None)
    return created


@transaction.atomic
def school_set_status(*, school_id: int, status: str, scope: Region | None) -> None:
    """Suspend or re-open a school; its schema and data are always kept."""
    qs = School.objects.schools().filter(pk=school_id)
    if scope is not None:
        qs = qs.filter(county__code__startswith=scope.prefix)
    if status not in School.Status.values or not qs.update(status=status):
        raise ApplicationError("未找到该学校。", code="not_found")


# What the dashboard counts (SchoolStats' fields: students, male, female, classes) is the
# registry's knowledge; it registers its counter in RegistryConfig.ready().
StatsCounter = Callable[[], dict[str, int]]
_STATS_COUNTERS: list[StatsCounter] = []


def register_stats_counter(counter: StatsCounter) -> None:
    """Add a counter of the current school whose numbers school_stats_refresh stores."""
    if counter not in _STATS_COUNTERS:
        _STATS_COUNTERS.append(counter)


def school_stats_refresh() -> dict[str, int]:
    """Recount the current school's registry into the public dashboard table.

    Runs inside the school's schema (a Celery task sent from the school); only counts
    cross into public. No longer periodic: the live fields (LIVE_STATS_FIELDS) follow
    every index write through school_stats_live_set; this full recount is what
    provisioning, a restore and the test world call, and it keeps `classes`.
    """
    counts: dict[str, int] = {}
    for counter in _STATS_COUNTERS:
        counts.update(counter())
    schema = connection.schema_name
    school = School.objects.get(schema_name=schema, kind=School.Kind.SCHOOL)
    SchoolStats.objects.update_or_create(
        school=school, defaults={**counts, "refreshed_at": timezone.now()}
    )
    return {"school_id": school.pk, **counts}


# SchoolStats' fields kept live (issue 16): written from the index's live counts
# (student_index.live.counts_refresh) in the transaction of each index write.
LIVE_STATS_FIELDS = ("students", "male", "female", "pending")


def school_stats_live_set(*, figures: Mapping[int, Mapping[str, int]]) -> None:
    """Store {school id: {field of LIVE_STATS_FIELDS: number}} in one statement; a
    school without a row yet gets one (its `classes` waits for school_stats_refresh)."""
    now = timezone.now()
    SchoolStats.objects.bulk_create(
        [
            SchoolStats(
                school_id=school_id,
                refreshed_at=now,
                **{f: numbers.get(f, 0) for f in LIVE_STATS_FIELDS},
            )
            for school_id, numbers in figures.items()
        ],
        update_conflicts=True,
        unique_fields=["school"],
        update_fields=[*LIVE_STATS_FIELDS, "refreshed_at"],
    )
