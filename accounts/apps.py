from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The one user model, installed in the public schema and in every school schema."""

    name = "accounts"
    label = "accounts"
    verbose_name = "账号"
