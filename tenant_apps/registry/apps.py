from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """A school's classes and students (each school's own schema)."""

    name = "tenant_apps.registry"
    label = "registry"
    verbose_name = "学籍"

    def ready(self) -> None:
        # Status changes take effect when the business-case engine completes them.
        from tenant_apps.registry.changes.hooks import register_hooks

        register_hooks()
        # 关键数据变更 takes effect the same way (registry.keydata.hooks).
        from tenant_apps.registry.keydata.hooks import register_keydata_hooks

        register_keydata_hooks()
        # Junior-middle intake's completion handlers (registry.lifecycle.intake).
        from tenant_apps.registry.lifecycle.intake import register_intake

        register_intake()
        # 跨校转移 of teachers (registry.teachers.transfer).
        from tenant_apps.registry.teachers.transfer import register_teacher_transfer

        register_teacher_transfer()
        # What a lost dry run or rollover resets (jobs.services.job_abandon).
        from shared_apps.jobs.services import job_kind_register
        from tenant_apps.registry.imports import pipeline as imports
        from tenant_apps.registry.lifecycle import rollover

        job_kind_register(
            "student_import",
            message=imports.MSG_VALIDATE_INTERRUPTED,
            on_abandon=imports.import_validate_abandon,
        )
        job_kind_register(
            "rollover", message=rollover.MSG_RUN_INTERRUPTED, on_abandon=rollover.rollover_abandon
        )
        # The audit log and the rights page know no registry: they learn it here.
        from tenant_apps.registry.audit_hooks import register_audit_hooks
        from tenant_apps.registry.policy.access import register_rights_hooks

        register_audit_hooks()
        register_rights_hooks()
        # The bureau dashboard's pre-aggregated counts (tenants.services.school_stats_refresh).
        from tenant_apps.registry.students.selectors import registry_counts
        from tenants.services import register_stats_counter

        register_stats_counter(registry_counts)
        # The live counts' headline numbers follow registry.counts (student_index.live).
        from shared_apps.student_index.live import register_stats_rule
        from tenant_apps.registry.facade.live import stats_fields_of

        register_stats_rule(stats_fields_of)
        # 照片批量导入's tasks live beside their module, not in registry.tasks.
        from tenant_apps.registry.photos import bulk_tasks  # noqa: F401
