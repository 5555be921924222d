"""Links to jobs: the `?job=<id>` a page is redirected to after starting one (job_followed),
and the result links of jobs that make a file (an export, a print batch): a signed token
naming the job and the file's storage key, good for a day, that opens the file for the
job's owner only. Each kind of job signs with its own salt, so one kind's link never opens
through another kind's page."""

from __future__ import annotations

import uuid
from typing import Any

from django.core import signing
from django.core.files.storage import default_storage

from shared_apps.jobs.models import Job
from shared_apps.jobs.selectors import job_get_for

LINK_SECONDS = 24 * 3600


def job_followed(request: Any) -> Job | None:
    """The job a page was redirected to follow (its `?job=` parameter), if it is the
    viewer's own on this host; None for a missing, malformed or foreign id."""
    raw = request.GET.get("job", "")
    try:
        job_id = str(uuid.UUID(raw))
    except ValueError:
        return None
    return job_get_for(user_id=request.user.pk, job_id=job_id)


def job_file_token(*, job_id: str, key: str, salt: str) -> str:
    return signing.dumps({"j": job_id, "k": key}, salt=salt)


def job_file_key(*, token: str, salt: str, user_id: int) -> str | None:
    """The storage key a genuine, unexpired link names, when its job belongs to `user_id`
    on this host and the file is still there; None otherwise (the caller answers 404)."""
    try:
        data = signing.loads(token, salt=salt, max_age=LINK_SECONDS)
    except signing.BadSignature:
        return None
    job_id, key = str(data.get("j", "")), str(data.get("k", ""))
    try:
        uuid.UUID(job_id)
    except ValueError:
        return None
    if job_get_for(user_id=user_id, job_id=job_id) is None or not default_storage.exists(key):
        return None
    return key
