from django.apps import AppConfig


class TenantsConfig(AppConfig):
    """Schools as PostgreSQL schemas (django-tenants), their hosts and provisioning."""

    name = "tenants"
    label = "tenants"
    verbose_name = "学校"
