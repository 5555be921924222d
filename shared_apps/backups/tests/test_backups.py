"""Backups of one school and their restore, with the real pg_dump/pg_restore/psql against
the test database and the moto S3 server behind default_storage.

A round trip (backup → change school A → restore into A) leaves every table of A's
schema with exactly the rows it had; restoring the same backup as a new school gives a
suspended school whose every table equals A's at the backup moment. Bureaus see and
restore only their own schools' backups."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from conftest import SENTINEL_STUDENT, World, login
from shared_apps.backups.models import SchoolBackup
from shared_apps.backups.services import (
    _tool_major,
    dump_schemas,
    pg_bin_dir,
    pg_tool,
    schema_rewrite,
    school_backup,
    school_restore,
    server_major,
    storage_name,
)
from tenants.context import school_context
from tests.test_provisioning import _structure

NEW_CODE, NEW_SLUG, NEW_NAME = "2143990301", "alphacopy", "测试甲小学（核查）"


# -- helpers -------------------------------------------------------------------------


def table_digests(schema: str) -> dict[str, tuple[int, str]]:
    """Every table of the schema: (row count, SHA-256 of its rows in a stable order)."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY 1",
            [schema],
        )
        tables = [t for (t,) in cursor.fetchall()]
        digests = {}
        for table in tables:
            cursor.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')
            rows = sorted(repr(row) for row in cursor.fetchall())
            digests[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    assert len(digests) > 10, f"{schema} has too few tables"
    return digests


AUDIT_TABLE = "accounts_auditentry"


def data_digests(schema: str) -> dict[str, tuple[int, str]]:
    """table_digests without the audit log, which a restore carries over instead."""
    return {t: d for t, d in table_digests(schema).items() if t != AUDIT_TABLE}


def audit_rows(schema: str) -> list[tuple[object, ...]]:
    """Every audit entry of the schema, id order, all columns."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{schema}".{AUDIT_TABLE} ORDER BY id')
        return list(cursor.fetchall())


def _audit_write(schema: str, marker: str) -> None:
    from accounts.audit import audit_record

    with school_context(schema):
        audit_record(actor="registrar", action="write", object_type="student", object_repr=marker)
    connection.set_schema_to_public()


def sequence_values(schema: str) -> dict[str, tuple[int, bool]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = %s",
            [schema],
        )
        values = {}
        for (name,) in cursor.fetchall():
            cursor.execute(f'SELECT last_value, is_called FROM "{schema}"."{name}"')
            values[name] = cursor.fetchone()
    return values


def _schemas_like(pattern: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [pattern])
        return [n for (n,) in cursor.fetchall()]


def _modify_school(schema: str) -> None:
    """Add, change and delete rows in several tables of the school."""
    from accounts.models import User
    from tenant_apps.registry.models import FamilyMember, SchoolClass, Student

    with school_context(schema):
        klass = SchoolClass.objects.create(
            stage="primary",
            entry_year=2023,
            number=7,
            class_no=SchoolClass.make_class_no("primary", 2023, 7),
        )
        for i in range(3):
            student = Student.objects.create(
                name=f"备份后{i}",
                sex="2",
                birth_date=dt.date(2017, 5, 1 + i),
                birthplace="430181108000",
                household_region="430181108000",
                school_class=klass,
                number_in_class=i + 1,
                entry_year_month="202309",
            )
            FamilyMember.objects.create(student=student, slot=1)
        Student.objects.filter(name=SENTINEL_STUDENT).update(aux_number="改过")
        User.objects.get(username="subject").groups.clear()
        User.objects.filter(username="staff").update(full_name="改过的名字")
    connection.set_schema_to_public()


def _drop_school(school_id: int, schema: str) -> None:
    from shared_apps.jobs.models import Job
    from tenants.models import Domain, School, SchoolStats

    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    SchoolStats.objects.filter(school_id=school_id).delete()
    Domain.objects.filter(tenant_id=school_id).delete()
    School.objects.filter(pk=school_id).delete()
    Job.objects.filter(kind="school_restore").delete()


def _drop_backups(**filters: object) -> None:
    connection.set_schema_to_public()
    for backup in SchoolBackup.objects.filter(**filters):
        with school_context("public"):
            default_storage.delete(storage_name(backup.key))
        backup.delete()


def _object_keys(prefix: str) -> list[str]:
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]
    listed = client.list_objects_v2(Bucket=default_storage.bucket_name, Prefix=prefix)  # type: ignore[attr-defined]
    return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture
def index_kept(live_db: World) -> Iterator[None]:
    """A restore re-syncs school A's public index entries; put them back as they were."""
    from shared_apps.student_index.models import IndexEntry

    before = list(IndexEntry.objects.filter(school_id=live_db.a.id).values())
    yield
    connection.set_schema_to_public()
    IndexEntry.objects.filter(school_id=live_db.a.id).delete()
    IndexEntry.objects.bulk_create([IndexEntry(**row) for row in before])


# -- the PostgreSQL tools ------------------------------------------------------------


def test_tools_match_the_server_major_version(db: None) -> None:
    directory = pg_bin_dir()
    assert _tool_major(directory / "pg_dump") == server_major()
    for tool in ("pg_dump", "pg_restore", "psql"):
        assert Path(pg_tool(tool)).exists()
    with override_settings(PG_BIN_DIR="/opt/pg/bin"):
        assert pg_bin_dir() == Path("/opt/pg/bin")


def test_schema_rewrite_touches_identifiers_but_never_copied_rows() -> None:
    sql = [
        b"CREATE SCHEMA s2143990001;\n",
        b"CREATE TABLE s2143990001.registry_student (\n",
        b"    id bigint DEFAULT nextval('s2143990001.registry_student_id_seq'::regclass)\n",
        b'ALTER TABLE ONLY "s2143990001".t ADD CONSTRAINT s2143990001x_pk PRIMARY KEY (id);\n',
        b"-- Name: t; Type: TABLE; Schema: s2143990001; Owner: -\n",
        b"COPY s2143990001.accounts_auditentry (id, school) FROM stdin;\n",
        b"1\ts2143990001\n",
        b"2\ts2143990001.registry_student\n",
        b"\\.\n",
        b"SELECT pg_catalog.setval('s2143990001.t_id_seq', 2, true);\n",
        b"CREATE INDEX s21439900011_idx ON s2143990001.t USING btree (x);\n",
    ]
    out = list(schema_rewrite(sql, "s2143990001", "s2143990301"))
    assert out == [
        b"CREATE SCHEMA s2143990301;\n",
        b"CREATE TABLE s2143990301.registry_student (\n",
        b"    id bigint DEFAULT nextval('s2143990301.registry_student_id_seq'::regclass)\n",
        b'ALTER TABLE ONLY "s2143990301".t ADD CONSTRAINT s2143990001x_pk PRIMARY KEY (id);\n',
        b"-- Name: t; Type: TABLE; Schema: s2143990301; Owner: -\n",
        b"COPY s2143990301.accounts_auditentry (id, school) FROM stdin;\n",
        b"1\ts2143990001\n",  # data rows stay byte for byte
        b"2\ts2143990001.registry_student\n",
        b"\\.\n",
        b"SELECT pg_catalog.setval('s2143990301.t_id_seq', 2, true);\n",
        b"CREATE INDEX s21439900011_idx ON s2143990301.t USING btree (x);\n",
    ]


# -- the round trip ------------------------------------------------------------------


def test_backup_then_restore_same_and_new_leave_identical_tables(
    live_db: World, index_kept: None
) -> None:
    from shared_apps.student_index.models import IndexEntry
    from tenant_apps.registry.models import Student
    from tenants.models import Domain, School

    world = live_db
    since = timezone.now()
    before = data_digests(world.a.schema)
    structure, sequences = _structure(world.a.schema), sequence_values(world.a.schema)
    backup = None
    new_id = None
    try:
        # given: a backup of school A
        started = time.monotonic()
        backup = school_backup(school_id=world.a.id, kind="manual", created_by="test@public")
        backup_seconds = time.monotonic() - started
        assert backup.key.startswith(f"platform/backups/{world.a.schema}/")
        assert backup.key.endswith(".dump")
        assert backup.key in _object_keys(f"platform/backups/{world.a.schema}/")
        # read back through the storage (moto S3): same bytes, only A's schema inside
        with school_context("public"), default_storage.open(storage_name(backup.key)) as f:
            data = f.read()
        connection.set_schema_to_public()
        assert len(data) == backup.size
        assert hashlib.sha256(data).hexdigest() == backup.sha256
        with tempfile.NamedTemporaryFile(suffix=".dump") as tmp:
            tmp.write(data)
            tmp.flush()
            assert dump_schemas(tmp.name) == {world.a.schema}
        for other in (world.b.schema, world.c.schema, settings.TENANT_BASE_SCHEMA):
            assert other.encode() not in data

        log_at_backup = audit_rows(world.a.schema)

        # when: A changes in several tables and audited actions happen (a sign-in through
        # the page, entries written by services), then the backup is restored into A
        _modify_school(world.a.schema)
        _audit_write(world.a.schema, "备份之后的操作一")
        login(world.a.host, "registrar")
        _audit_write(world.a.schema, "备份之后的操作二")
        connection.set_schema_to_public()
        assert data_digests(world.a.schema) != before
        live_log = audit_rows(world.a.schema)
        assert len(live_log) == len(log_at_backup) + 3
        started = time.monotonic()
        heard: list[tuple[int, str]] = []
        restored = school_restore(
            backup_id=backup.pk,
            target="same",
            acting_user=None,
            progress=lambda p, m: heard.append((p, m)),
        )
        # progress moves through the steps and inside the re-indexing loop
        assert [p for p, _ in heard] == sorted(p for p, _ in heard), heard
        with school_context(world.a.schema):
            total = Student.objects.exclude(audit_state="deleted").count()
        connection.set_schema_to_public()
        assert (95, f"正在更新学生索引：{total}/{total} 名学生……") in heard, heard
        same_seconds = time.monotonic() - started

        # then: every data table of A holds exactly the rows it had at the backup
        assert restored.schema_name == world.a.schema
        assert data_digests(world.a.schema) == before
        assert _structure(world.a.schema) == structure  # constraints, triggers, functions…
        assert sequence_values(world.a.schema) == sequences
        assert _schemas_like(f"{world.a.schema}_pre_restore_%") == []
        # and the audit log was not rolled back: every entry written since the backup is
        # still there, unchanged, followed by the entry of the restore itself
        restored_log = audit_rows(world.a.schema)
        assert restored_log[:-1] == live_log
        from accounts.models import AuditEntry

        with school_context(world.a.schema):
            entry = AuditEntry.objects.order_by("-id").values().first()
            # the id sequence continues after the carried entries (no id is reused)
            assert AuditEntry.objects.create(action="write", school=world.a.schema).pk > entry["id"]  # type: ignore[index]
        connection.set_schema_to_public()
        assert entry["id"] > live_log[-1][0]  # type: ignore[index,operator]
        assert {k: entry[k] for k in ("username", "user_display", "school", "action")} == {  # type: ignore[index]
            "username": "",
            "user_display": "平台命令",
            "school": world.a.schema,
            "action": "restore",
        }
        assert (entry["object_type"], entry["object_id"]) == ("backup", str(backup.pk))  # type: ignore[index]
        assert entry["after"]["target"] == "same"  # type: ignore[index]
        assert entry["after"]["source"] == world.a.schema  # type: ignore[index]
        assert since <= entry["at"] <= timezone.now()  # type: ignore[index]
        # the public index mirrors A's restored students
        with school_context(world.a.schema):
            uuids = set(Student.objects.values_list("identifier", flat=True))
        connection.set_schema_to_public()
        assert (
            set(
                IndexEntry.objects.filter(school_id=world.a.id).values_list(
                    "student_uuid", flat=True
                )
            )
            == uuids
        )

        # when: the same backup is restored into a new school for inspection
        started = time.monotonic()
        copy = school_restore(
            backup_id=backup.pk,
            target="new",
            acting_user=None,
            new_code=NEW_CODE,
            new_slug=NEW_SLUG,
            new_name=NEW_NAME,
        )
        new_seconds = time.monotonic() - started
        new_id = copy.school_id

        # then: a suspended, ready school on its own host, with A's rows in every table
        school = School.objects.get(pk=new_id)
        assert school.schema_name == f"s{NEW_CODE}"
        assert school.status == School.Status.SUSPENDED
        assert school.provisioning == School.Provisioning.READY
        assert Domain.objects.get(tenant_id=new_id, is_primary=True).domain == (
            f"{NEW_SLUG}.{settings.BASE_DOMAIN}"
        )
        assert data_digests(school.schema_name) == before
        assert _structure(school.schema_name) == structure
        assert sequence_values(school.schema_name) == sequences
        assert not IndexEntry.objects.filter(school_id=new_id).exists()  # not in 查重
        # the copy's log is A's log at the backup, plus the note of the restore
        copy_log = audit_rows(school.schema_name)
        assert copy_log[:-1] == log_at_backup
        assert copy_log[-1][6:8] == ("restore", "backup")  # action, object_type
        print(  # noqa: T201 - the timings the README quotes
            f"\nbackup {backup.size} B in {backup_seconds:.2f} s; restore same "
            f"{same_seconds:.2f} s; restore new {new_seconds:.2f} s"
        )
    finally:
        connection.set_schema_to_public()
        if backup is not None and data_digests(world.a.schema) != before:
            school_restore(backup_id=backup.pk, target="same", acting_user=None)
        if new_id is not None or School.objects.filter(code=NEW_CODE).exists():
            school = School.objects.get(code=NEW_CODE)
            _drop_school(school.pk, school.schema_name)
        _drop_backups(school_id=world.a.id)
        _audit_cleanup(world.a.schema, since)


def test_a_failed_restore_changes_nothing(live_db: World) -> None:
    """A dump that psql cannot apply (here: migrations that differ) rolls back as a whole:
    A keeps its data and no renamed copy is left behind."""
    from common.exceptions import ApplicationError
    from tenants.models import Domain, School

    world = live_db
    backup = school_backup(school_id=world.a.id, kind="manual", created_by="test@public")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{world.a.schema}".django_migrations (app, name, applied) '
                "VALUES ('backups_test', '9999_later', now())"
            )
        before = table_digests(world.a.schema)
        with pytest.raises(ApplicationError, match="数据库结构"):
            school_restore(backup_id=backup.pk, target="same", acting_user=None)
        assert table_digests(world.a.schema) == before
        assert _schemas_like(f"{world.a.schema}_pre_restore_%") == []

        # a dump from a newer code version cannot become a new school either: the school
        # registered for it is removed again with its half-built schema
        newer = school_backup(school_id=world.a.id, kind="manual", created_by="test@public")
        with pytest.raises(ApplicationError, match="更新版本"):
            school_restore(
                backup_id=newer.pk,
                target="new",
                acting_user=None,
                new_code=NEW_CODE,
                new_slug=NEW_SLUG,
                new_name=NEW_NAME,
            )
        assert not School.objects.filter(code=NEW_CODE).exists()
        assert not Domain.objects.filter(domain__startswith=f"{NEW_SLUG}.").exists()
        assert _schemas_like(f"s{NEW_CODE}") == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'DELETE FROM "{world.a.schema}".django_migrations WHERE app = %s',
                ["backups_test"],
            )
        _drop_backups(school_id=world.a.id)


def test_commands_back_up_and_restore_a_school_and_the_platform(
    live_db: World, index_kept: None
) -> None:
    world = live_db
    since = timezone.now()
    before = data_digests(world.a.schema)
    full_keys: list[str] = []
    try:
        out = io.StringIO()
        call_command("backup_school", code=world.a.code, stdout=out)
        backup = SchoolBackup.objects.get(school_id=world.a.id)
        assert backup.key in out.getvalue()
        listed = io.StringIO()
        call_command("backup_school", code=world.a.code, list=True, stdout=listed)
        assert str(backup.pk) in listed.getvalue()
        call_command(
            "restore_school", backup_id=backup.pk, target="same", yes=True, stdout=io.StringIO()
        )
        assert data_digests(world.a.schema) == before

        # the whole database: public and every school in one dump under _full/
        call_command("backup_platform", stdout=io.StringIO())
        full_keys = _object_keys("platform/backups/_full/")
        assert len(full_keys) == 1
        with school_context("public"), default_storage.open(storage_name(full_keys[0])) as f:
            data = f.read()
        connection.set_schema_to_public()
        with tempfile.NamedTemporaryFile(suffix=".dump") as tmp:
            tmp.write(data)
            tmp.flush()
            schemas = dump_schemas(tmp.name)
        assert {"public", world.a.schema, world.b.schema, world.c.schema} <= schemas
    finally:
        connection.set_schema_to_public()
        for key in full_keys:
            with school_context("public"):
                default_storage.delete(storage_name(key))
        _drop_backups(school_id=world.a.id)
        _audit_cleanup(world.a.schema, since)


# -- who may do what -----------------------------------------------------------------


def _fake_backup(school_id: int, *, kind: str = "manual", days_ago: int = 0) -> SchoolBackup:
    at = timezone.now() - dt.timedelta(days=days_ago)
    return SchoolBackup.objects.create(
        school_id=school_id,
        key=f"platform/backups/fake/{school_id}-{kind}-{days_ago}-{time.monotonic_ns()}.dump",
        size=123456,
        sha256="0" * 64,
        kind=kind,
        created_by="someone@public",
        created_at=at,
    )


def test_another_county_cannot_list_or_restore_school_a_backups(
    world: World, db: None, bureau_host: str
) -> None:
    from shared_apps.jobs.models import Job

    backup = _fake_backup(world.a.id)
    pages = f"/bureau/schools/{world.a.id}/backups/"
    api = f"/api/v1/schools/{world.a.id}/backups/"
    restore = {"backup_id": backup.pk, "target": "same", "confirm_code": world.a.code}

    other = login(bureau_host, world.other_bureau_user)
    for response in (
        other.get(pages),
        other.post(pages),
        other.post(pages + "restore/", restore),
        other.get(api),
        other.post(api),
        other.post(api + "restore/", restore, content_type="application/json"),
    ):
        assert response.status_code == 404
        assert world.a.code not in response.content.decode()
    overview = other.get("/bureau/backups/").content.decode()
    assert world.a.name not in overview
    assert world.c.name in overview
    connection.set_schema_to_public()
    # the service refuses as well, before touching anything
    from accounts.models import User
    from common.exceptions import ApplicationError

    officer = User.objects.get(username=world.other_bureau_user)
    with pytest.raises(ApplicationError, match="未找到该备份"):
        school_restore(backup_id=backup.pk, target="same", acting_user=officer)
    assert not Job.objects.filter(kind__in=["school_backup", "school_restore"]).exists()

    own = login(bureau_host, world.bureau_user)
    page = own.get(pages)
    assert page.status_code == 200
    assert "120.6" in page.content.decode()  # filesizeformat of 123456 bytes
    assert [b["id"] for b in own.get(api).json()] == [backup.pk]
    operator = login(bureau_host, world.operator)
    assert [b["id"] for b in operator.get(api).json()] == [backup.pk]
    connection.set_schema_to_public()


def test_restore_into_the_school_needs_its_code_typed(
    world: World, db: None, bureau_host: str
) -> None:
    from shared_apps.jobs.models import Job

    backup = _fake_backup(world.a.id)
    client = login(bureau_host, world.bureau_user)
    url = f"/bureau/schools/{world.a.id}/backups/restore/"
    wrong = client.post(url, {"backup_id": backup.pk, "target": "same", "confirm_code": "123"})
    assert wrong.status_code == 302
    connection.set_schema_to_public()
    assert not Job.objects.filter(kind="school_restore").exists()
    page = client.get(wrong["Location"]).content.decode()
    assert "请输入本校的学校标识码以确认恢复" in page

    # a backup of another school cannot be restored through A's page
    other_backup = _fake_backup(world.b.id)
    client.post(url, {"backup_id": other_backup.pk, "target": "same", "confirm_code": world.a.code})
    connection.set_schema_to_public()
    assert not Job.objects.filter(kind="school_restore").exists()

    # the new school's code and host are checked before any job starts
    taken = client.post(
        url, {"backup_id": backup.pk, "target": "new", "new_code": world.b.code,
              "new_slug": "fresh", "new_name": "核查"},
    )  # fmt: skip
    assert taken.status_code == 302
    elsewhere = client.post(
        url, {"backup_id": backup.pk, "target": "new", "new_code": "2144990301",
              "new_slug": "fresh", "new_name": "核查"},
    )  # fmt: skip
    assert "不一致" in client.get(elsewhere["Location"]).content.decode()  # 44 is not Hunan
    connection.set_schema_to_public()
    assert not Job.objects.filter(kind="school_restore").exists()

    right = client.post(
        url, {"backup_id": backup.pk, "target": "same", "confirm_code": world.a.code}
    )
    assert right.status_code == 302
    assert "?job=" in right["Location"]
    connection.set_schema_to_public()
    assert Job.objects.filter(kind="school_restore", title__contains=world.a.name).count() == 1


def test_school_admin_sees_own_backups_and_cannot_restore(world: World, db: None) -> None:
    backup = _fake_backup(world.a.id)
    _fake_backup(world.b.id)
    admin = login(world.a.host, "admin")
    page = admin.get("/backups/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "立即备份" in body
    assert "恢复到本校" not in body
    assert [b["id"] for b in admin.get("/api/v1/backups/").json()] == [backup.pk]
    assert login(world.a.host, "registrar").get("/backups/").status_code == 403
    connection.set_schema_to_public()


# -- nightly -------------------------------------------------------------------------


def test_nightly_sends_one_backup_per_serving_school_and_prunes(
    world: World, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared_apps.backups import tasks
    from tenants.models import School

    sent: list[tuple[object, ...]] = []
    monkeypatch.setattr(tasks.school_backup_task, "delay", lambda *a: sent.append(a))
    newest_old = _fake_backup(world.b.id, kind="nightly", days_ago=40)
    older = _fake_backup(world.a.id, kind="nightly", days_ago=45)
    recent = _fake_backup(world.a.id, kind="nightly", days_ago=3)
    manual = _fake_backup(world.a.id, kind="manual", days_ago=90)

    with override_settings(BACKUP_KEEP_DAYS=30):
        result = tasks.backups_nightly_task.run()

    serving = set(School.objects.serving().values_list("id", flat=True))
    assert {a[0] for a in sent} == serving
    assert all(a[1] == "nightly" for a in sent)
    assert School.objects.get(schema_name=settings.TENANT_BASE_SCHEMA).pk not in serving
    assert result == {"sent": len(serving), "pruned": 1}
    left = set(SchoolBackup.objects.values_list("id", flat=True))
    assert older.pk not in left
    assert {newest_old.pk, recent.pk, manual.pk} <= left  # B's only one is kept


# -- through the web and a real worker -----------------------------------------------


@pytest.mark.worker
def test_school_admin_backup_and_bureau_restore_run_in_the_worker(
    live_db: World, celery_worker_thread: None, bureau_host: str, index_kept: None
) -> None:
    from shared_apps.jobs.models import Job

    world = live_db
    since = timezone.now()
    before = table_digests(world.a.schema)

    def finished(job_id: str) -> Job:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            job = Job.objects.get(pk=job_id)
            if job.state in {Job.State.SUCCEEDED, Job.State.FAILED}:
                return job
            time.sleep(0.2)
        raise AssertionError("job did not finish")

    try:
        # the school's admin, on the school's host: the task runs in A's schema, the
        # dump still lands under the public prefix
        admin = login(world.a.host, "admin")
        response = admin.post("/backups/")
        connection.set_schema_to_public()
        assert response.status_code == 302
        job = finished(response["Location"].split("job=")[1])
        assert job.state == Job.State.SUCCEEDED, job.message
        backup = SchoolBackup.objects.get(school_id=world.a.id)
        assert backup.key.startswith(f"platform/backups/{world.a.schema}/")
        assert backup.created_by == f"admin@{world.a.schema}"
        assert backup.kind == SchoolBackup.Kind.MANUAL

        # the county bureau restores it into the school, typing the code to confirm
        bureau = login(bureau_host, world.bureau_user)
        response = bureau.post(
            f"/bureau/schools/{world.a.id}/backups/restore/",
            {"backup_id": backup.pk, "target": "same", "confirm_code": world.a.code},
        )
        connection.set_schema_to_public()
        assert response.status_code == 302, response.content.decode()[:500]
        job = finished(response["Location"].split("job=")[1])
        assert job.state == Job.State.SUCCEEDED, job.message
        assert "已恢复到本校" in job.message
        # the registry is what it was (logins since then changed only account tables)
        after = table_digests(world.a.schema)
        assert {t: d for t, d in after.items() if t.startswith("registry_")} == {
            t: d for t, d in before.items() if t.startswith("registry_")
        }
    finally:
        connection.set_schema_to_public()
        _audit_cleanup(world.a.schema, since)
        _audit_cleanup("public", since)
        Job.objects.filter(created_at__gte=since).delete()
        _drop_backups(school_id=world.a.id)


def _audit_cleanup(schema: str, since: dt.datetime) -> None:
    """Remove the audit entries this test's requests wrote (the trigger lets a DELETE
    through only with xueji.audit_purge on, as the retention purge does)."""
    connection.set_schema_to_public()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL xueji.audit_purge = 'on'")
        cursor.execute(f'DELETE FROM "{schema}".accounts_auditentry WHERE at >= %s', [since])


def test_backup_progress_moves_with_the_dump_and_says_what_it_stores(
    world: World, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared_apps.backups import dump

    monkeypatch.setattr(dump, "CHUNK", 4096)  # a small school's dump in many reads
    seen: list[tuple[int, str]] = []
    try:
        backup = school_backup(
            school_id=world.a.id,
            kind="manual",
            created_by="test",
            progress=lambda p, m: seen.append((p, m)),
        )
        percents = [p for p, _ in seen]
        assert percents == sorted(percents), percents
        assert percents[0] == 10
        assert percents[-1] == 90
        # reported as the output arrives, not 10 % and then done
        assert len({p for p in percents if 10 < p < 90}) >= 3, percents
        assert any(m.startswith("正在导出学校数据：已导出 ") for _, m in seen)
        assert seen[-1][1] == f"已导出 {backup.size / 1024 / 1024:.1f} MB，正在保存备份文件……"
    finally:
        _drop_backups(school_id=world.a.id)
