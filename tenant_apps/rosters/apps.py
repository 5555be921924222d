from django.apps import AppConfig


class RostersConfig(AppConfig):
    """External rosters (外部名册): lists exported from other systems — the nutrition
    programme's (营养改善计划), the county admissions system's admitted lists (统一招生),
    the teacher-training platform's (师训平台) — staged, mapped onto the registry's fields,
    checked with the registry's own validation and corrected, then promoted through the
    student import's own confirmation or compared with the registry; the teacher export is
    checked by the teacher records' own rules and its diff with them applied through the
    teacher services (rosters.teachers) (issue 18). Each school's own schema. It reads the
    registry below it through its public services and selectors; the bureau reaches it
    only through rosters.facade."""

    name = "tenant_apps.rosters"
    label = "rosters"
    verbose_name = "外部名册"

    def ready(self) -> None:
        # The registry refuses a new intake pupil the county's admitted list lacks; it
        # sits below this app, so it asks through its facade's hook.
        from tenant_apps.registry.facade import register_admission_check
        from tenant_apps.rosters.admissions import admission_rule

        register_admission_check(self.label, admission_rule)
