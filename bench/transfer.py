"""Benchmark: 1,000 transfers across 100 schools approved in one batch.

    .venv/bin/python bench/transfer.py [--schools 100] [--transfers 1000] [--keep]

With DATABASE_URL set, the benchmark creates (after dropping) its own database
`bench_transfer` on that server and touches nothing else there. Without it, embedded
PostgreSQL starts fresh in .pgdata-bench-transfer. Either way the bench database is
dropped at the end unless --keep is given.

Set-up, on one platform set up by `setup_platform`: `--schools` schools of 浏阳市
(430181) provisioned by cloning; in each, one class and `--transfers / --schools`
registered pupils with a family member, two history entries and two marks, all in the
public index. Every pupil of school i is asked for by school i+1 (transfer_start, the
receiving registrar's service) and approved by the sending school (step 1 of the
same-county chain). Measured: the bureau's batch, i.e. case_decide of the last step for
every case in turn, one transaction each, exactly as the batch page and API call it;
each call is the whole move (read in the sending schema, write in the receiving one,
mark 转出, index). Prints throughput and p50/p95/max per move; target p95 <= 200 ms.
Checks afterwards: every case done, every index entry at the receiving school, every
receiving record 在读 with its family, history and marks.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above

BENCH_DB = "bench_transfer"
PGDATA = ROOT / ".pgdata-bench-transfer"
REDIS_DIR = ROOT / ".run" / "redis-bench-transfer"
MEDIA_DIR = ROOT / ".run" / "media-bench-transfer"
OUT_DIR = ROOT / "bench" / "out"
TARGET_P95 = 0.200
COUNTY = "430181"


def build(schools: int, per_school: int) -> list[tuple[int, str]]:
    """Schools and pupils; returns (school id, schema) in order."""
    import datetime as dt

    from django.utils import timezone
    from stdnum.cn import ric

    from shared_apps.regions.services import bureau_create
    from shared_apps.student_index.services import index_upsert
    from tenant_apps.grades.models import Course, Mark
    from tenant_apps.registry.models import FamilyMember, SchoolClass, Student, StudentEvent
    from tenant_apps.registry.students.services import index_record
    from tenants.context import school_context
    from tenants.services import SchoolInput, school_provision, school_register

    with contextlib.suppress(Exception):
        bureau_create(region_code=COUNTY, name="浏阳市教育局")
    refs = []
    serial = 0
    for i in range(schools):
        code = f"21439{i:05d}"
        reg = school_register(
            data=SchoolInput(
                name=f"基准转学学校{i:03d}",
                code=code,
                slug=f"tr{i:03d}",
                county_code=COUNTY,
                stages=["primary"],
            ),
            scope=None,
        )
        school_provision(school_id=reg.school_id)
        from tenants.models import School

        schema = School.objects.get(pk=reg.school_id).schema_name
        refs.append((reg.school_id, schema))
        with school_context(schema):
            klass = SchoolClass.objects.create(
                stage="primary", entry_year=2024, number=1, class_no="2024101"
            )
            courses = list(Course.objects.filter(is_national=True).order_by("code")[:2])
            students = []
            for n in range(per_school):
                serial += 1
                birth = dt.date(2018, 1, 1) + dt.timedelta(days=serial % 300)
                first17 = f"{COUNTY}{birth:%Y%m%d}{serial % 1000:03d}"
                id_number = first17 + ric.calc_check_digit(first17 + "0")
                students.append(
                    Student(
                        name=f"基准{i:03d}{n:03d}",
                        sex="1" if serial % 2 else "2",
                        birth_date=birth,
                        id_number=id_number,
                        id_type="1",
                        birthplace="430181108000",
                        household_region="430181108000",
                        school_class=klass,
                        number_in_class=n + 1,
                        entry_year_month="202409",
                        audit_state=Student.Audit.REGISTERED,
                        national_number=f"G{id_number}",
                        number_kind="G",
                        ethnicity="01",
                    )
                )
            Student.objects.bulk_create(students)
            FamilyMember.objects.bulk_create(
                [FamilyMember(student=s, slot=1, name="家长", relation="11") for s in students]
            )
            StudentEvent.objects.bulk_create(
                [
                    StudentEvent(student=s, actor="bench", action=a)
                    for s in students
                    for a in ("新增", "教育局审核通过")
                ]
            )
            Mark.objects.bulk_create(
                [
                    Mark(
                        student=s,
                        course=c,
                        school_year="2025-2026",
                        term=1,
                        level=3,
                        entered_by="bench",
                        entered_at=timezone.now(),
                    )
                    for s in students
                    for c in courses
                ]
            )
            index_upsert(school_id=reg.school_id, records=[index_record(s) for s in students])
        print(f"  school {i + 1}/{schools}", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)
    return refs


def open_cases(refs: list[tuple[int, str]]) -> list[str]:
    """Every pupil of school i asked for by school i+1, approved by school i."""
    from common.actor import Actor
    from shared_apps.transfers.services import CaseActor, case_decide
    from shared_apps.transfers.transfer import transfer_start
    from tenant_apps.registry.models import SchoolClass, Student
    from tenants.context import school_context

    case_ids = []
    for i, (school_id, schema) in enumerate(refs):
        receiving_id, receiving_schema = refs[(i + 1) % len(refs)]
        with school_context(schema):
            uuids = list(Student.objects.filter(status="01").values_list("identifier", flat=True))
        with school_context(receiving_schema):
            klass = SchoolClass.objects.get(class_no="2024101").pk
            for identifier in uuids:
                case = transfer_start(
                    actor=Actor("registrar", "registrar", receiving_schema),
                    sending_school_id=school_id,
                    student_uuid=identifier,
                    target_class_id=klass,
                    reason="基准测试",
                )
                case_ids.append(str(case.pk))
        approver = CaseActor("approver", schema, None, frozenset({"registry.approve"}))
        with school_context(schema):
            for case_id in case_ids[-len(uuids) :]:
                case_decide(case_id=case_id, actor=approver, approve=True, step=0)
        print(f"  cases of school {i + 1}/{len(refs)}", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)
    return case_ids


def batch(case_ids: list[str]) -> list[float]:
    from django.db import connection

    from shared_apps.transfers.services import CaseActor, case_decide

    connection.set_schema_to_public()
    officer = CaseActor("liuyang", "public", f"{COUNTY}000000", frozenset({"bureau.audit"}))
    samples = []
    for case_id in case_ids:
        start = time.perf_counter()
        case = case_decide(case_id=case_id, actor=officer, approve=True, step=1)
        samples.append(time.perf_counter() - start)
        assert case.state == "done", case.number
    return samples


def check(refs: list[tuple[int, str]], case_ids: list[str], per_school: int) -> dict[str, int]:
    from shared_apps.student_index.models import IndexEntry
    from shared_apps.transfers.models import Case
    from tenant_apps.registry.models import Student
    from tenants.context import school_context

    cases = list(
        Case.objects.filter(pk__in=case_ids).values_list("student_uuid", "school_id", "state")
    )
    assert all(state == "done" for _, _, state in cases)
    index = dict(IndexEntry.objects.values_list("student_uuid", "school_id"))
    assert all(index[u] == school for u, school, _ in cases)  # type: ignore[index]
    studying = left = 0
    for _, schema in refs:
        with school_context(schema):
            studying += Student.objects.filter(status="01").count()
            left += Student.objects.filter(status="10").count()
            moved = Student.objects.filter(status="01").first()
            assert moved.family.count() == 1  # type: ignore[union-attr]
            assert moved.events.count() == 3  # type: ignore[union-attr]
            assert moved.marks.count() == 2  # type: ignore[union-attr]
    assert studying == left == len(refs) * per_school
    return {"cases_done": len(cases), "studying": studying, "transferred_out": left}


def run(schools: int, transfers: int) -> None:
    benchdb.django_setup()
    from django.core.management import call_command

    per_school = max(1, transfers // schools)
    print("setup_platform...", file=sys.stderr, flush=True)
    call_command("setup_platform", verbosity=0, stdout=io.StringIO())
    print(f"{schools} schools x {per_school} pupils...", file=sys.stderr, flush=True)
    refs = build(schools, per_school)
    print("opening and approving the schools' steps...", file=sys.stderr, flush=True)
    case_ids = open_cases(refs)
    print(f"bureau batch of {len(case_ids)} final approvals...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    samples = batch(case_ids)
    total = time.perf_counter() - started
    checks = check(refs, case_ids, per_school)
    info = benchdb.machine(show=("shared_buffers", "synchronous_commit"))
    p50, p95 = statistics.median(samples), benchdb.percentile(samples, 0.95)
    load = os.getloadavg()
    verdict = "PASS" if p95 <= TARGET_P95 else "FAIL"
    lines = [
        f"| transfers | {len(samples):,} across {schools} schools (one county) |",
        "|---|---|",
        f"| batch wall time | {total:.2f} s |",
        f"| throughput | {len(samples) / total:.1f} moves/s |",
        f"| per move p50 | {p50 * 1000:.1f} ms |",
        f"| per move p95 | {p95 * 1000:.1f} ms ({verdict}: target ≤ 200 ms) |",
        f"| per move max | {max(samples) * 1000:.1f} ms |",
        f"| checks | {checks} |",
        f"| load average (1/5/15 min) | {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} |",
    ]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    print("\n".join(lines), flush=True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (OUT_DIR / f"transfer-{stamp}.json").write_text(
        json.dumps({"machine": info, "samples": samples, "checks": checks}, indent=1)
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Transfer batch benchmark.")
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--transfers", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    if not 2 <= args.schools <= 999:
        parser.error("--schools must be 2..999")
    # Local file-system storage: the moved documents never go to S3.
    services = benchdb.services_start(
        db=BENCH_DB, pgdata=PGDATA, redis_dir=REDIS_DIR, media_dir=MEDIA_DIR
    )
    try:
        run(args.schools, args.transfers)
    finally:
        benchdb.services_stop(services, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
