"""The apps above fill the hooks of accounts and tenants at start-up (issue 14): the audit
log, the rights page, file links and the dashboard counts know no app above them, so an
empty hook would silently lose a description, a warning or a permission."""

from __future__ import annotations


def test_every_inverted_hook_is_filled_by_its_owner() -> None:
    from accounts import audit, rights
    from tenants import scope, services

    assert set(audit._DESCRIBERS) == {"case", "problem", "student"}
    assert audit.FIELD_LABELS["id_number"]
    assert [s.__module__ for s in rights._CROSS_SOURCES] == [
        "tenant_apps.registry.policy.access",
        "tenant_apps.grades.rights_hooks",
    ]
    assert len(scope._SCOPE) == 1
    assert [c.__module__ for c in services._STATS_COUNTERS] == [
        "tenant_apps.registry.students.selectors"
    ]


def test_the_registry_asks_the_rosters_app_about_admissions() -> None:
    """The registry refuses an unmatched new intake pupil only if rosters registered its
    rule (tenant_apps.rosters.apps): an empty hook would let every one through."""
    from tenant_apps.registry.facade import hooks
    from tenant_apps.rosters.admissions import admission_rule

    assert {"rosters": admission_rule} == hooks._ADMISSION_CHECKS
