"""The cluster suite: run by `make test-cluster` (deploy/cluster.py) against a Citus
coordinator; the repository's conftest.py (world, login, live_db) applies here as well.

It is not in pyproject's testpaths, so `make test` never collects it; run on a server
without Citus it stops at once with the reason instead of failing test by test.
"""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture(scope="session", autouse=True)
def _on_citus(django_db_setup: object, django_db_blocker: pytest.FixtureRequest) -> None:
    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")
        row = cursor.fetchone()
    if not row or not row[0]:
        pytest.exit("tests_cluster needs a Citus coordinator: run `make test-cluster`.", 2)
