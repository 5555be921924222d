from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The one user model, installed in the public schema and in every school schema."""

    name = "accounts"
    label = "accounts"
    verbose_name = "账号"

    def ready(self) -> None:
        from django.contrib.auth.signals import (
            user_logged_in,
            user_logged_out,
            user_login_failed,
        )

        from accounts import audit

        # Sign-ins, sign-outs and failed attempts go to the audit log of the host's schema.
        user_logged_in.connect(audit.on_user_logged_in, dispatch_uid="accounts.audit.login")
        user_logged_out.connect(audit.on_user_logged_out, dispatch_uid="accounts.audit.logout")
        user_login_failed.connect(
            audit.on_user_login_failed, dispatch_uid="accounts.audit.login_failed"
        )
