"""Term-start load (issue 20 point 6): many schools at once, on the product as it is served.

    .venv/bin/python bench/load.py [--schools 30] [--students 300] [--imports 20]
                                   [--import-rows 2000] [--steps 4,8,16,32]
                                   [--step-seconds 30] [--web-workers 4] [--short]
                                   [--cluster] [--json PATH]

With DATABASE_URL set, the script creates (after dropping) its own database `bench_load`
on that server and touches nothing else there; without it, embedded PostgreSQL starts
fresh in .pgdata-bench-load. With `--cluster` it starts a Citus coordinator and two
workers (deploy/cluster.py's `cluster()`, the build `make test-cluster` uses) and runs on
the cluster's own database, whose nodes all have the extension; they are stopped and
removed at the end. REDIS_URL, or an embedded Redis. Files go to the local file-system
storage in .run/media-bench-load. Everything is dropped and stopped at the end.

Set-up, in this process: setup_platform; `--schools` schools of 浏阳市 provisioned by
the product's own path (school_register + school_provision: the template clone), each
with class 2024101, `--students` pupils written in bulk (browsing and search volume),
20 pupils registered one by one through student_register (index entries, family,
history) for the class teacher to edit, a 学籍管理员 and a 班主任 of that class; a
bureau officer of 浏阳市 on the bureau host. Every account gets an API token from
accounts.sessions.api_token_issue (the login throttle is per client address, and every
simulated person here comes from 127.0.0.1). Each import gets its own workbook of
`--import-rows` valid pupils (bench/import.py's writer), no ID number shared with any
other pupil of the run.

Then the product is served as in production: gunicorn with deploy/gunicorn.conf.py
(`--web-workers` sync workers, bound to loopback on a free port) and one real Celery
worker (`-c 2`, as k8s/base/deployment-worker.yaml), both started here and stopped at
the end. The load is a bounded closed-loop client: N threads, each one person with a
keep-alive connection, no think time, so N is the concurrency. Kinds (weights):

  list      registrar, GET /api/v1/students/?page=k            (30)
  search    registrar, GET /api/v1/students/?q=<name or 拼音首字母> (30)
  detail    registrar, GET /api/v1/students/<id>/               (10)
  create    registrar, POST /api/v1/students/ (one new pupil)   (5)
  edit      班主任, PUT /api/v1/students/<id>/ (phone changed)    (15)
  dashboard bureau officer, GET /api/v1/dashboard/schools/       (10)

and, beside them from the first second, `--imports` importers (one per school, round
robin): upload (POST /api/v1/imports/), poll the job until the dry run is ready,
confirm ("valid_only"), and check that every row was written. Concurrency steps up
through `--steps`, `--step-seconds` each; the imports run across the steps and the run
waits (up to 10 minutes) for every import to finish.

Prints, per step: the sustained request rate, p50/p95/p99 per kind, errors (any status
other than the expected one, or a refused connection); for the imports: queue wait (upload
to the job leaving 排队中), dry-run time, confirm time, end to end, and whether all
finished with every row written; and the knee: the first step where the list or search
p95 passes 100 ms, or the rate stops growing by 10 %. Targets: list and search p95 <=
100 ms at >= 200 requests/s, 0 errors, every import finished. Exit status 1 if errors
or unfinished imports (the suite's short run, tests/test_load_short.py, relies on it).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above

DB = "bench_load"
PGDATA = ROOT / ".pgdata-bench-load"
REDIS_DIR = ROOT / ".run" / "redis-bench-load"
MEDIA_DIR = ROOT / ".run" / "media-bench-load"
COUNTY = "430181"  # 浏阳市: the factories' pupils live there
EDITABLE = 20  # pupils per school registered one by one, for the class teacher
TARGET_P95_MS = 100.0
TARGET_RATE = 200.0
IMPORT_DEADLINE_S = 600.0
WEIGHTS = {"list": 30, "search": 30, "detail": 10, "create": 5, "edit": 15, "dashboard": 10}
PY = sys.executable


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- set-up (in this process, through the product's services) --------------------------


@dataclass
class School:
    slug: str
    host: str
    registrar: str
    teacher: str
    # identifier -> the raw row it was registered with (the class teacher edits these)
    editable: dict[str, dict[str, Any]]
    searches: list[str]
    pages: int


@dataclass
class World:
    schools: list[School]
    officer: str
    base: str
    # each import: (school index, workbook bytes, rows)
    workbooks: list[tuple[int, bytes, int]]
    next_seq: int


def _token(user: Any) -> str:
    from accounts.sessions import api_token_issue

    return api_token_issue(user=user, client="load").token


def _user(username: str, role: str, region: str | None = None) -> Any:
    from accounts.models import User
    from accounts.services import user_create

    user_create(username=username, full_name=username, roles=[role], region_id=region)
    user = User.objects.get(username=username)
    user.must_change_password = False
    user.save(update_fields=["must_change_password"])
    return user


def setup(*, schools: int, students: int, imports: int, import_rows: int) -> World:
    import datetime as dt
    import io

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from common.actor import Actor
    from tenant_apps.registry.classes.services import class_create
    from tenant_apps.registry.models import SchoolClass, Student
    from tenant_apps.registry.students.services import student_register
    from tenant_apps.registry.tests.factories import MAX_SEQ, valid_row
    from tenants.context import school_context
    from tenants.services import SchoolInput, school_provision, school_register

    writer = importlib.import_module("bench.import").workbook_write
    began = time.perf_counter()
    call_command("setup_platform", verbosity=0, stdout=io.StringIO())
    log(f"setup_platform: {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    seq = 0
    made: list[School] = []
    for i in range(schools):
        slug = f"load-{i + 1}"
        reg = school_register(
            data=SchoolInput(
                name=f"负载测试第{i + 1:03d}小学",
                code=f"2143{980000 + i:06d}",
                slug=slug,
                county_code=COUNTY,
                stages=["primary"],
            ),
            scope=None,
        )
        school_provision(school_id=reg.school_id)
        with school_context(reg.schema_name):
            klass = class_create(stage="primary", entry_year=2024, number=1)
            registrar = _user(f"reg{i + 1}", "registrar")
            teacher = _user(f"bzr{i + 1}", "class_teacher")
            SchoolClass.objects.filter(pk=klass.pk).update(teacher_username=teacher.username)
            actor = Actor.of(registrar)
            editable: dict[str, dict[str, Any]] = {}
            for _ in range(EDITABLE):
                raw = valid_row(seq)
                seq += 1
                student = student_register(raw=raw, actor=actor)
                editable[str(student.identifier)] = raw
            # Browsing volume: written in bulk (no index entries: nobody registers them).
            Student.objects.bulk_create(
                [
                    Student(
                        name=valid_row(MAX_SEQ - 1 - n)["name"],
                        sex="12"[n % 2],
                        birth_date=dt.date(2017, 9, 1) + dt.timedelta(days=n % 365),
                        school_class_id=klass.pk,
                        number_in_class=n + 100,
                        entry_year_month="202409",
                        audit_state=Student.Audit.REGISTERED,
                    )
                    for n in range(students)
                ],
                batch_size=2000,
            )
            names = list(Student.objects.values_list("name", flat=True)[:50])
            made.append(
                School(
                    slug=slug,
                    host=f"{slug}.{settings.BASE_DOMAIN}",
                    registrar=_token(registrar),
                    teacher=_token(teacher),
                    editable=editable,
                    # Whole names, and the surname alone (many hits), as registrars type.
                    searches=names + sorted({n[0] for n in names}),
                    pages=max(1, (students + EDITABLE) // 50),
                )
            )
        connection.set_schema_to_public()
    log(f"{schools} schools provisioned and filled: {time.perf_counter() - began:.1f} s")
    officer = _token(_user("load-officer", "bureau_registrar", f"{COUNTY}000000"))
    workbooks = []
    for n in range(imports):
        rows = [valid_row(seq + k) for k in range(import_rows)]
        seq += import_rows
        workbooks.append((n % schools, writer(rows), import_rows))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return World(made, officer, settings.BASE_DOMAIN, workbooks, seq)


# -- the served product ----------------------------------------------------------------


def _free_port() -> int:
    from deploy.local import free_port

    return free_port()


@contextlib.contextmanager
def served(*, web_workers: int) -> Iterator[int]:
    """gunicorn (deploy/gunicorn.conf.py, loopback) and one Celery worker, until exit."""
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "platform")])
    env.setdefault("TZ", "Asia/Shanghai")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    web_log = (out / "load-web.log").open("wb")
    worker_log = (out / "load-worker.log").open("wb")
    procs = [
        subprocess.Popen(
            [
                PY,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "-c",
                "deploy/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(web_workers),
                "--access-logfile",
                "/dev/null",
            ],
            env=env,
            cwd=ROOT,
            stdout=web_log,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [PY, "-m", "celery", "-A", "config", "worker", "-l", "warning", "-c", "2"],
            env=env,
            cwd=ROOT,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz", headers={"Host": os.environ["BASE_DOMAIN"]})
                if conn.getresponse().status == 200:
                    break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("gunicorn did not answer /healthz (bench/out/load-web.log)")
            time.sleep(0.3)
        _worker_wait(procs[1])
        yield port
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        web_log.close()
        worker_log.close()


def _worker_wait(proc: subprocess.Popen[bytes]) -> None:
    """Until the Celery worker answers a ping: its start-up must not count as queue wait."""
    from config.celery import app

    deadline = time.monotonic() + 90
    while not app.control.ping(timeout=1.0):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the Celery worker did not start (bench/out/load-worker.log)")


def warm_up(world: World, port: int, web_workers: int) -> None:
    """Load every gunicorn worker's URLconfs, views and templates before measuring: a few
    requests per worker of each host kind, in parallel, not recorded."""
    book = Book()
    stop = threading.Event()
    people = [Person(n, world, port, book, stop, _SharedSeqs(0)) for n in range(web_workers)]
    threads = []
    for person in people:
        for call in (person.do_list, person.do_search, person.do_detail, person.do_dashboard):
            threads.append(threading.Thread(target=call))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# -- the client ------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    step: int
    ms: float
    ok: bool
    status: int


@dataclass
class Book:
    """Every request's outcome, appended from many threads (list.append is atomic)."""

    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    step: int = 0

    def add(self, kind: str, ms: float, status: int, expected: int, detail: str = "") -> bool:
        ok = status == expected
        self.samples.append(Sample(kind, self.step, ms, ok, status))
        if not ok and len(self.failures) < 50:
            self.failures.append(f"{kind}: {status} {detail[:300]}")
        return ok


class Client:
    """One person's keep-alive connection to gunicorn (sync workers close it after each
    answer; http.client then reconnects for the next request)."""

    def __init__(self, port: int, host: str, token: str) -> None:
        self.port, self.host, self.token = port, host, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(
        self, method: str, path: str, body: bytes | None = None, ctype: str = ""
    ) -> tuple[int, bytes, float]:
        headers = {"Host": self.host, "Authorization": f"Token {self.token}"}
        if ctype:
            headers["Content-Type"] = ctype
        began = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
            status = response.status
            if response.will_close:
                self.conn.close()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            return 0, str(exc).encode(), (time.perf_counter() - began) * 1000
        return status, data, (time.perf_counter() - began) * 1000


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


class Person(threading.Thread):
    def __init__(
        self,
        n: int,
        world: World,
        port: int,
        book: Book,
        stop: threading.Event,
        seqs: Iterator[int],
    ) -> None:
        super().__init__(daemon=True)
        self.rnd = random.Random(n)
        self.world, self.port, self.book, self.stop, self.seqs = world, port, book, stop, seqs
        self.school = world.schools[n % len(world.schools)]
        self.registrar = Client(port, self.school.host, self.school.registrar)
        self.teacher = Client(port, self.school.host, self.school.teacher)
        self.officer = Client(port, world.base, world.officer)
        self.kinds = list(WEIGHTS)
        self.weights = list(WEIGHTS.values())

    def run(self) -> None:
        # Every kind once first, so that even a short step serves each of them; then
        # the weighted mix.
        for kind in self.kinds:
            if self.stop.is_set():
                return
            getattr(self, f"do_{kind}")()
        while not self.stop.is_set():
            kind = self.rnd.choices(self.kinds, self.weights)[0]
            getattr(self, f"do_{kind}")()

    def do_list(self) -> None:
        page = self.rnd.randint(1, self.school.pages)
        status, body, ms = self.registrar.call("GET", f"/api/v1/students/?page={page}")
        self.book.add("list", ms, status, 200, body.decode(errors="replace"))

    def do_search(self) -> None:
        from urllib.parse import quote

        q = quote(self.rnd.choice(self.school.searches))
        status, body, ms = self.registrar.call("GET", f"/api/v1/students/?q={q}")
        self.book.add("search", ms, status, 200, body.decode(errors="replace"))

    def do_detail(self) -> None:
        sid = self.rnd.choice(list(self.school.editable))
        status, body, ms = self.registrar.call("GET", f"/api/v1/students/{sid}/")
        self.book.add("detail", ms, status, 200, body.decode(errors="replace"))

    def do_create(self) -> None:
        from tenant_apps.registry.tests.factories import valid_row

        raw = valid_row(next(self.seqs))
        status, body, ms = self.registrar.call(
            "POST", "/api/v1/students/", _json(raw), "application/json"
        )
        self.book.add("create", ms, status, 201, body.decode(errors="replace"))

    def do_edit(self) -> None:
        sid = self.rnd.choice(list(self.school.editable))
        raw = self.school.editable[sid] | {"phone": f"139{self.rnd.randrange(10**8):08d}"}
        status, body, ms = self.teacher.call(
            "PUT", f"/api/v1/students/{sid}/", _json(raw), "application/json"
        )
        self.book.add("edit", ms, status, 200, body.decode(errors="replace"))

    def do_dashboard(self) -> None:
        status, body, ms = self.officer.call("GET", "/api/v1/dashboard/schools/")
        self.book.add("dashboard", ms, status, 200, body.decode(errors="replace"))


@dataclass
class ImportRun:
    rows: int
    uploaded: float = 0.0
    started: float | None = None  # the job left 排队中
    ready: float | None = None
    done: float | None = None
    written: int = -1
    error: str = ""


def _multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        "\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}"
    )


class Importer(threading.Thread):
    """Upload, wait for the dry run (polling the job once a second as the page does),
    confirm, and check the count written."""

    def __init__(self, n: int, world: World, port: int, book: Book) -> None:
        super().__init__(daemon=True)
        index, self.data, rows = world.workbooks[n]
        school = world.schools[index]
        self.client = Client(port, school.host, school.registrar)
        self.book, self.n = book, n
        self.run_ = ImportRun(rows)

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - recorded and reported, never lost
            self.run_.error = f"{type(exc).__name__}: {exc}"

    def _run(self) -> None:
        body, ctype = _multipart(f"导入{self.n}.xlsx", self.data)
        self.run_.uploaded = time.monotonic()
        status, answer, ms = self.client.call("POST", "/api/v1/imports/", body, ctype)
        if not self.book.add("import_upload", ms, status, 202, answer.decode(errors="replace")):
            self.run_.error = f"upload {status}"
            return
        batch = json.loads(answer)
        deadline = time.monotonic() + IMPORT_DEADLINE_S
        while time.monotonic() < deadline:
            time.sleep(1.0)
            status, answer, ms = self.client.call("GET", f"/api/v1/jobs/{batch['job_id']}/")
            self.book.add("import_poll", ms, status, 200, answer.decode(errors="replace"))
            if status != 200:
                continue
            job = json.loads(answer)
            if job["state"] != "pending" and self.run_.started is None:
                self.run_.started = time.monotonic()
            if job["state"] == "failed":
                self.run_.error = f"dry run failed: {job['message']}"
                return
            if job["state"] == "succeeded":
                break
        else:
            self.run_.error = "dry run not finished in time"
            return
        status, answer, ms = self.client.call("GET", f"/api/v1/imports/{batch['id']}/")
        self.book.add("import_poll", ms, status, 200, answer.decode(errors="replace"))
        if status != 200 or json.loads(answer)["state"] != "ready":
            self.run_.error = f"batch not ready: {answer[:200]!r}"
            return
        self.run_.ready = time.monotonic()
        status, answer, ms = self.client.call(
            "POST",
            f"/api/v1/imports/{batch['id']}/confirm/",
            _json({"mode": "valid_only"}),
            "application/json",
        )
        if not self.book.add("import_confirm", ms, status, 200, answer.decode(errors="replace")):
            self.run_.error = f"confirm {status}"
            return
        self.run_.done = time.monotonic()
        self.run_.written = int(json.loads(answer)["written"])
        if self.run_.written != self.run_.rows:
            self.run_.error = f"written {self.run_.written} of {self.run_.rows}"


# -- the run ---------------------------------------------------------------------------


class _SharedSeqs:
    """One counter for every thread's new pupils (a generator is not thread-safe)."""

    def __init__(self, start: int) -> None:
        self.lock, self.value = threading.Lock(), start

    def __iter__(self) -> _SharedSeqs:
        return self

    def __next__(self) -> int:
        with self.lock:
            self.value += 1
            return self.value - 1


def drive(
    world: World, port: int, *, steps: list[int], step_seconds: float
) -> tuple[Book, list[ImportRun], list[dict[str, Any]]]:
    book = Book()
    seqs = _SharedSeqs(world.next_seq)
    importers = [Importer(n, world, port, book) for n in range(len(world.workbooks))]
    for importer in importers:
        importer.start()
    people: list[Person] = []
    stop = threading.Event()
    spans: list[dict[str, Any]] = []
    for step, concurrency in enumerate(steps):
        book.step = step
        while len(people) < concurrency:
            person = Person(len(people), world, port, book, stop, seqs)
            people.append(person)
            person.start()
        running = sum(1 for i in importers if i.is_alive())
        began = time.monotonic()
        time.sleep(step_seconds)
        spans.append(
            {
                "step": step,
                "concurrency": concurrency,
                "seconds": time.monotonic() - began,
                "imports_running_at_start": running,
            }
        )
        log(f"  step {step}: {concurrency} people, {running} imports running")
    stop.set()
    for person in people:
        person.join(timeout=150)
    deadline = time.monotonic() + IMPORT_DEADLINE_S
    for importer in importers:
        importer.join(timeout=max(1.0, deadline - time.monotonic()))
    return book, [i.run_ for i in importers], spans


def summarise(book: Book, imports: list[ImportRun], spans: list[dict[str, Any]]) -> dict[str, Any]:
    pct = benchdb.percentile
    steps = []
    for span in spans:
        mine = [s for s in book.samples if s.step == span["step"]]
        kinds: dict[str, Any] = {}
        for kind in sorted({s.kind for s in mine}):
            ms = [s.ms for s in mine if s.kind == kind]
            kinds[kind] = {
                "n": len(ms),
                "p50": pct(ms, 0.50),
                "p95": pct(ms, 0.95),
                "p99": pct(ms, 0.99),
                "errors": sum(1 for s in mine if s.kind == kind and not s.ok),
            }
        reads = [s.ms for s in mine if s.kind in {"list", "search"}]
        steps.append(
            {
                **span,
                "rate": len(mine) / span["seconds"],
                "errors": sum(1 for s in mine if not s.ok),
                "reads_p95": pct(reads, 0.95) if reads else 0.0,
                "kinds": kinds,
            }
        )
    knee = None
    for before, after in zip(steps, steps[1:], strict=False):
        if after["reads_p95"] > TARGET_P95_MS or after["rate"] < before["rate"] * 1.10:
            knee = after["concurrency"]
            break
    if knee is None and steps and steps[0]["reads_p95"] > TARGET_P95_MS:
        knee = steps[0]["concurrency"]
    finished = [r for r in imports if r.done is not None and not r.error]
    waits = [r.started - r.uploaded for r in imports if r.started is not None]
    dry = [r.ready - r.uploaded for r in imports if r.ready is not None]
    total = [r.done - r.uploaded for r in finished if r.done is not None]
    target_ok = [
        s
        for s in steps
        if s["rate"] >= TARGET_RATE
        and all(s["kinds"].get(k, {}).get("p95", 0) <= TARGET_P95_MS for k in ("list", "search"))
    ]
    return {
        "steps": steps,
        "knee_concurrency": knee,
        "errors": sum(1 for s in book.samples if not s.ok),
        "requests": len(book.samples),
        "failures": book.failures,
        "imports": {
            "count": len(imports),
            "finished": len(finished),
            "rows_written": sum(max(r.written, 0) for r in imports),
            "queue_wait_s": {"p50": pct(waits, 0.5), "max": max(waits)} if waits else None,
            "dry_run_s": {"p50": pct(dry, 0.5), "max": max(dry)} if dry else None,
            "end_to_end_s": {"p50": pct(total, 0.5), "max": max(total)} if total else None,
            "problems": [r.error for r in imports if r.error],
        },
        "read_target_met_at": [s["concurrency"] for s in target_ok],
    }


def report(summary: dict[str, Any], facts: dict[str, str], args: argparse.Namespace) -> str:
    lines = [
        f"Term-start load: {args.schools} schools x ({args.students} + {EDITABLE}) pupils, "
        f"{args.imports} imports of {args.import_rows} rows, gunicorn {args.web_workers} "
        "sync workers + 1 Celery worker (-c 2), "
        + ("on a Citus cluster (coordinator + 2 workers)" if args.cluster else "one node"),
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
        "",
        "| people | req/s | errors | imports running | kind | n | p50 ms | p95 ms | p99 ms |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for step in summary["steps"]:
        first = True
        for kind, k in step["kinds"].items():
            lead = (
                f"| {step['concurrency']} | {step['rate']:.0f} | {step['errors']} | "
                f"{step['imports_running_at_start']} |"
                if first
                else "| | | | |"
            )
            lines.append(
                f"{lead} {kind} | {k['n']} | {k['p50']:.1f} | {k['p95']:.1f} | {k['p99']:.1f} |"
            )
            first = False
    imp = summary["imports"]
    lines += [
        "",
        f"Requests {summary['requests']}, errors {summary['errors']} (target 0).",
        f"Imports finished {imp['finished']} of {imp['count']}, rows written "
        f"{imp['rows_written']}; queue wait {imp['queue_wait_s']}, dry run (upload to ready) "
        f"{imp['dry_run_s']}, end to end {imp['end_to_end_s']} (seconds).",
        f"List and search p95 <= {TARGET_P95_MS:.0f} ms at >= {TARGET_RATE:.0f} req/s met at "
        f"concurrency: {summary['read_target_met_at'] or 'none'}.",
        f"Latency climbs (knee) at concurrency: {summary['knee_concurrency'] or 'not reached'}.",
    ]
    if imp["problems"]:
        lines.append(f"Import problems: {imp['problems']}")
    if summary["failures"]:
        lines.append("First failures: " + "; ".join(summary["failures"][:10]))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=30)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--imports", type=int, default=20)
    parser.add_argument("--import-rows", type=int, default=2000)
    parser.add_argument("--steps", default="4,8,16,32")
    parser.add_argument("--step-seconds", type=float, default=30.0)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument(
        "--short",
        action="store_true",
        help="the suite's run: 2 schools, 2 imports of 200 rows, 8 s",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="on a Citus coordinator and two workers started by deploy/cluster.py",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.short:
        args.schools, args.students, args.imports, args.import_rows = 2, 40, 2, 200
        args.steps, args.step_seconds, args.web_workers = "4", 8.0, 2
    steps = [int(s) for s in args.steps.split(",")]
    os.environ.setdefault("BASE_DOMAIN", "localhost")
    with contextlib.ExitStack() as stack:
        db, reuse = DB, False
        if args.cluster:
            from deploy import cluster as citus

            # The cluster's own database: it has the extension on every node and knows
            # the workers (a database made here would be plain PostgreSQL on the
            # coordinator). The nodes and their data go away at the end.
            os.environ.setdefault("CITUS_DURABLE", "1")  # as durable as the one node
            os.environ.update(stack.enter_context(citus.cluster(citus.CACHE / "run-load")))
            db, reuse = citus.DATABASE, True
        return _run(args, steps, db=db, reuse=reuse)


def _run(args: argparse.Namespace, steps: list[int], *, db: str, reuse: bool) -> int:
    services = benchdb.services_start(
        db=db, pgdata=PGDATA, redis_dir=REDIS_DIR, media_dir=MEDIA_DIR, reuse=reuse
    )
    try:
        benchdb.django_setup()
        world = setup(
            schools=args.schools,
            students=args.students,
            imports=args.imports,
            import_rows=args.import_rows,
        )
        facts = benchdb.machine(show=("max_connections",))
        from django.db import connections

        # The served processes open their own; this one must not hold any meanwhile.
        connections.close_all()
        with served(web_workers=args.web_workers) as port:
            warm_up(world, port, args.web_workers)
            load_before = os.getloadavg()
            book, imports, spans = drive(world, port, steps=steps, step_seconds=args.step_seconds)
            load_after = os.getloadavg()
        facts["uptime load (before, after)"] = (
            f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
            f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
        )
        summary = summarise(book, imports, spans)
        print(report(summary, facts, args))
        if args.json:
            args.json.write_text(json.dumps({"facts": facts, **summary}, ensure_ascii=False))
        ok = summary["errors"] == 0 and summary["imports"]["finished"] == args.imports
        return 0 if ok else 1
    finally:
        benchdb.services_stop(services, keep=reuse)
        shutil.rmtree(MEDIA_DIR, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
