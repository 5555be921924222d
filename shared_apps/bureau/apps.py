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
