from django.apps import AppConfig


class TransfersConfig(AppConfig):
    """Business cases (学籍异动业务): status changes, transfers and intake awaiting
    approval, and the move of a record between schools (public schema)."""

    name = "shared_apps.transfers"
    label = "transfers"
    verbose_name = "学籍异动"

    def ready(self) -> None:
        # The transfer kinds' completion handlers and detail lines live in this app.
        from shared_apps.transfers import handlers  # noqa: F401

        # The audit log names a case by its number and kind (accounts.audit knows no case).
        from shared_apps.transfers.audit_hooks import register_audit_hooks

        register_audit_hooks()
