from django.apps import AppConfig


class NutritionConfig(AppConfig):
    """The nutrition-improvement programme (营养改善计划, domain §3.12, issue 18 point 3):
    the county's programme schools, every school's beneficiary claims as keyed digests, the
    subsidy standard and the checks against false claims. Public schema only, on the
    engine layer beside the cross-school index it joins: the schools' pages
    (tenant_apps.rosters.programme) and the bureau's both read and write it."""

    name = "shared_apps.nutrition"
    label = "nutrition"
    verbose_name = "营养改善计划"

    def ready(self) -> None:
        from accounts.audit import register_field_labels

        # The before/after keys the programme's pages write into the audit log.
        register_field_labels(
            {"ticked": "新增受益学生", "ended": "结束受益", "nutrition": "营养改善计划"}
        )
