"""Celery application: tasks run in the schema of the school that sent them.

tenant-schemas-celery records the sender's schema in a header and the worker switches
to it before the task body runs. Work started from beat or a shell runs in `public`,
so periodic per-school work fans out explicitly (tenants.tasks.schools_fan_out).
"""

import os

from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = TenantAwareCeleryApp("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
