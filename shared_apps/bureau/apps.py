from django.apps import AppConfig


class BureauConfig(AppConfig):
    """The bureau's pages and APIs over the schools of its region (public schema)."""

    name = "shared_apps.bureau"
    label = "bureau"
    verbose_name = "教育局"

    def ready(self) -> None:
        # Which schools a public user governs is the bureau's rule; tenants (file links)
        # and accounts (the bureau's audit log) ask it through tenants.scope.
        from shared_apps.bureau.selectors import access_schools
        from tenants.scope import register_school_scope

        register_school_scope(lambda user: access_schools(user=user))
