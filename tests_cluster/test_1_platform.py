"""setup_platform and provisioning on Citus: the public tables placed as Citus needs them,
schools as distributed schemas on both workers, provisioned by migrations."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.management import call_command
from django.db import connection

from conftest import World
from tenants.models import School
from tenants.services import SchoolInput, school_provision, school_register
from tests_cluster.placement import schema_node, table_type, worker_ports

EXTRA = [(f"集群测试{i}小学", f"21439900{20 + i}", f"cluster{i}") for i in range(3)]


def test_public_tables_are_where_citus_needs_them(world: World, public: None) -> None:
    # Every public table stays a plain table on the coordinator (tenants.citus says why).
    for table in ("regions_region", "tenants_school", "student_index_indexentry", "transfers_case"):
        assert table_type(table) is None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = %s::regclass AND confrelid = 'public.regions_region'::regclass",
            [f'"{world.a.schema}".accounts_user'],
        )
        assert cursor.fetchone()[0] == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name::text FROM citus_schemas")
        distributed = {row[0] for row in cursor.fetchall()}
    assert "public" not in distributed
    assert {world.a.schema, world.b.schema, world.c.schema} <= distributed


def test_setup_platform_runs_again_on_the_cluster(world: World, public: None) -> None:
    call_command("setup_platform", executor="standard", verbosity=0)
    assert table_type("tenants_school") is None


def test_six_schools_land_on_both_workers(
    world: World, live_db: World, record_property: Callable[[str, object], None]
) -> None:
    timings = []
    for name, code, slug in EXTRA:
        school = School.objects.filter(code=code).first()
        if school is None:
            reg = school_register(
                data=SchoolInput(
                    name=name, code=code, slug=slug, county_code="430111", stages=["primary"]
                ),
                scope=None,
            )
            started = time.perf_counter()
            school_provision(school_id=reg.school_id)
            timings.append(time.perf_counter() - started)
    schemas = list(
        School.objects.schools().order_by("schema_name").values_list("schema_name", flat=True)
    )
    assert len(schemas) >= 6
    placement = {schema: schema_node(schema) for schema in schemas}
    record_property("placement", placement)
    record_property("provision_seconds", timings)
    assert set(placement.values()) == set(worker_ports())
    # world's a and b (same county) are on different workers, so the transfer tests
    # that follow cross nodes.
    assert placement[world.a.schema] != placement[world.b.schema]
