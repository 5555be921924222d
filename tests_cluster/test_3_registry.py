"""Registration and the 2,000-row import with 查重 against pupils of other schools (on the
other worker), and the bureau dashboard's live counts: the ordinary suite's tests, run here
against the cluster."""

import pytest

from shared_apps.bureau.tests.test_dashboard import (  # noqa: F401 - collected here
    counts,
    test_county_officer_figures_are_exact,
    test_operator_sees_everything,
)
from tenant_apps.registry.tests.test_import_dry_run import (  # noqa: F401
    eager,
    test_dry_run_counts_every_error_kind_and_writes_nothing_until_confirmed,
)

pytestmark = pytest.mark.django_db
