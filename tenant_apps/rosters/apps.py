from django.apps import AppConfig


class RostersConfig(AppConfig):
    """External rosters (外部名册): lists exported from other systems — the nutrition
    programme's (营养改善计划) now, the county admissions list and the teacher-training
    platform later — staged, mapped onto the registry's fields, checked with the
    registry's own validation and corrected, then promoted through the student import's
    own confirmation (issue 18). Each school's own schema. It reads the registry below it
    through its public services and selectors; nothing reads it."""

    name = "tenant_apps.rosters"
    label = "rosters"
    verbose_name = "外部名册"
