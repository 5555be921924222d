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

# Options of a task that is safe to run again (issue 11, M6). Acked only once done, so a
# message taken by a worker that died as a whole returns to the queue (after the broker's
# visibility timeout); when only its pool process dies Celery sends it again at once
# (retry_on_worker_lost, in the sender's school: the schema header is kept), twice at
# most, 5 s later rather than Celery's three minutes while the user watches the progress
# bar. After the last loss the task fails, and so does its job (shared_apps.jobs.tasks).
RERUN_IF_WORKER_LOST = {
    "acks_late": True,
    "retry_on_worker_lost": True,
    "max_retries": 2,
    "default_retry_delay": 5,
}
