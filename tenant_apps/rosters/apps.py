from django.apps import AppConfig


class RostersConfig(AppConfig):
    """External rosters (外部名册): lists exported from other systems — the nutrition
    programme's (营养改善计划), the county admissions list, the teacher-training
    platform's (师训平台) — staged, mapped onto the registry's fields, checked with the
    registry's own validation and corrected, then promoted through the student import's
    own confirmation; the teacher export is checked by the teacher records' own rules and
    its diff with them applied through the teacher services (rosters.teachers) (issue
    18). Each school's own schema. It reads the registry below it through its public
    services and selectors; nothing reads it."""

    name = "tenant_apps.rosters"
    label = "rosters"
    verbose_name = "外部名册"
