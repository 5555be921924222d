"""Transfers between two schools on different workers (a and b: test_1 asserts their
placement): the ordinary suite's tests, run here against the cluster. The move commits
with Citus' two-phase commit; every failure checkpoint leaves both schools and the index
unchanged; two concurrent final approvals move the student once."""

from shared_apps.transfers.tests.test_transfer import (  # noqa: F401 - collected here
    test_cross_county_transfer_needs_both_bureaus,
    test_injected_failure_leaves_both_schools_and_index_unchanged,
    test_rejection_leaves_the_record_where_it_is,
    test_transfer_back_reuses_the_identifier,
    test_transfer_same_county_moves_everything,
    test_two_concurrent_final_approvals_make_exactly_one_move,
)
