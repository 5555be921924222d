"""URL parameters of tenant_apps.reports.printing: the signed link to a finished print
job's file (print_token), made for school A's registrar."""

from __future__ import annotations

from typing import Any

PARAM_KINDS = {"print_token": "str"}


def values(world: Any) -> dict[str, str]:
    from django.core import signing

    from accounts.models import User
    from shared_apps.jobs.services import job_create
    from tenant_apps.reports.printing.services import LINK_SALT
    from tenants.context import school_context

    with school_context(world.a.schema):
        owner = User.objects.get(username="registrar").pk
        job = job_create(owner_id=owner, kind="print_batch", title="打印学籍卡片")
    token = signing.dumps({"j": str(job.pk), "k": "exports/print/isolation.pdf"}, salt=LINK_SALT)
    return {"print_token": token}
