"""The registry's models live in sub-modules of registry.models (issue 14): the tables must
stay as the migrations describe them."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_migration_is_missing() -> None:
    out = StringIO()
    # --check exits non-zero (SystemExit) when a model differs from its migrations.
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
