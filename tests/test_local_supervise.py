"""`make run` (deploy/local.py) starts a process again when it exits, instead of
stopping everything (issue 11, M6), and gives up on one that keeps failing at start."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import psutil

ROOT = Path(__file__).resolve().parent.parent


def _local() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_local", ROOT / "deploy" / "local.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _starts(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_process_that_dies_is_started_again_and_the_others_keep_running(
    tmp_path: Path,
) -> None:
    local = _local()
    dies, stays = tmp_path / "dies", tmp_path / "stays"
    record = "import os, sys; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n')"
    commands = {
        # a worker killed mid-task: exits at once with a failure status
        "worker": [sys.executable, "-c", f"{record}; os._exit(9)", str(dies)],
        "web": [sys.executable, "-c", f"{record}; import time; time.sleep(120)", str(stays)],
    }
    deadline = time.monotonic() + 60

    code = local.supervise(
        commands,
        env={},
        cwd=tmp_path,
        poll=0.05,
        max_restarts=100,
        should_stop=lambda: len(_starts(dies)) >= 3 or time.monotonic() > deadline,
    )

    assert code == 0
    assert len(_starts(dies)) >= 3  # started again after each exit
    assert len(_starts(stays)) == 1  # the web server ran on, never restarted
    # and everything is stopped on the way out
    assert not psutil.pid_exists(_starts(stays)[0]) or (
        psutil.Process(_starts(stays)[0]).status() == psutil.STATUS_ZOMBIE
    )


def test_a_process_that_keeps_failing_at_start_stops_everything(tmp_path: Path) -> None:
    local = _local()
    stays = tmp_path / "stays"
    record = "import os, sys; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n')"
    commands = {
        "worker": [sys.executable, "-c", "raise SystemExit(1)"],
        "web": [sys.executable, "-c", f"{record}; import time; time.sleep(120)", str(stays)],
    }
    started = time.monotonic()

    code = local.supervise(commands, env={}, cwd=tmp_path, poll=0.05, max_restarts=3)

    assert code == 1
    assert time.monotonic() - started < 30
    pid = _starts(stays)[0]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
