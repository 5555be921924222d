"""The term-start load test, short (issue 20 point 6): bench/load.py --short serves the
product with gunicorn and a real Celery worker on a database of its own (on the suite's
PostgreSQL server), drives registrars, class teachers and a bureau officer of two
schools for 8 s while two imports run, and must see no failed request and every import
finished with every row written. The full run and its figures: bench/RESULTS.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parent.parent


def test_short_load_has_no_errors_and_every_import_finishes(tmp_path: Path) -> None:
    env = dict(os.environ)
    # Its own Redis database: its worker must never take a task of the suite's workers.
    env["REDIS_URL"] = env["REDIS_URL"].rsplit("/", 1)[0] + "/7"
    out = tmp_path / "load.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--short", "--json", str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), run.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["failures"] == []
    assert figures["errors"] == 0
    [step] = figures["steps"]
    # Every kind of person was served during the step, not only some.
    assert set(step["kinds"]) >= {"list", "search", "detail", "create", "edit", "dashboard"}
    assert figures["requests"] > 20
    imports = figures["imports"]
    assert imports["problems"] == []
    assert imports["finished"] == imports["count"] == 2
    assert imports["rows_written"] == 2 * 200
    assert run.returncode == 0, run.stdout[-3000:]
