"""Celery application: tasks run in the schema of the school that sent them.

tenant-schemas-celery records the sender's schema in a header and the worker switches
to it before the task body runs. Work started from beat or a shell runs in `public`,
so periodic per-school work fans out explicitly (tenants.tasks.schools_fan_out).
"""

import os

from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class SchoolTask(TenantTask):
    """A tenant task whose retries keep the schema it was sent from.

    tenant-schemas-celery stamps the schema of the *sending* connection. A retry after a
    lost pool process (`retry_on_worker_lost`) is sent by the worker's main process, whose
    connection is in public, so without this the retry of a school's task would run in
    public. With the Redis broker the header arrives merged into the request."""

    abstract = True
    # Retries follow a lost pool process (retry_on_worker_lost): the work starts again
    # soon, not after Celery's three minutes, while the user watches the progress bar.
    default_retry_delay = 5

    def signature_from_request(self, request=None, args=None, kwargs=None, queue=None, **extra):  # type: ignore[no-untyped-def]
        request = self.request if request is None else request
        signature = super().signature_from_request(request, args, kwargs, queue, **extra)
        schema = (request.headers or {}).get("_schema_name") or request.get("_schema_name")
        if schema:
            headers = dict(signature.options.get("headers") or {})
            headers["_schema_name"] = schema
            signature.options["headers"] = headers
        return signature


app = TenantAwareCeleryApp("config", task_cls=SchoolTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
