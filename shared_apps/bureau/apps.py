from django.apps import AppConfig


class BureauConfig(AppConfig):
    """The bureau's pages and APIs over the schools of its region (public schema)."""

    name = "shared_apps.bureau"
    label = "bureau"
    verbose_name = "教育局"

    def ready(self) -> None:
        # The registry asks the county through its facade's hooks (it may not import
        # the bureau): whether a grade's 学籍辅号 are locked, and where a 佐证 is queued.
        from shared_apps.bureau.renumber import grade_locked
        from shared_apps.bureau.services import evidence_review_queue
        from tenant_apps.registry.facade import (
            register_aux_lock_check,
            register_evidence_submitted,
        )

        register_aux_lock_check(self.label, grade_locked)
        register_evidence_submitted(self.label, evidence_review_queue)
        # Which schools a public user governs is the bureau's rule; tenants (file links)
        # and accounts (the bureau's audit log) ask it through tenants.scope.
        from shared_apps.bureau.selectors import access_schools
        from tenants.scope import register_school_scope

        register_school_scope(lambda user: access_schools(user=user))
        # A 人籍一致 confirmation refreshes its school's quality figures once it commits.
        # (Importing the tasks registers them: autodiscovery reads only bureau.tasks.)
        from shared_apps.bureau.quality import tasks as _quality_tasks  # noqa: F401
        from shared_apps.bureau.quality.services import quality_stale_handler
        from tenant_apps.registry.facade import register_quality_stale

        register_quality_stale(self.label, quality_stale_handler)
