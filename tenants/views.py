from __future__ import annotations

import mimetypes

from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from accounts.audit import READ_FILE, audit_record
from tenants.storage import SchoolS3Storage, download_grant


def _bureau_may_read(request: HttpRequest, schema: str) -> bool:
    """On the bureau host, a school's file (佐证) is served to the officers who govern it."""
    from accounts.roles import Right
    from shared_apps.bureau.selectors import access_schools

    user = request.user
    if connection.schema_name != "public" or not user.is_authenticated:
        return False
    if not user.has_right(Right.BUREAU_AUDIT):  # type: ignore[union-attr]
        return False
    return access_schools(user=user).filter(schema_name=schema).exists()  # type: ignore[arg-type]


def file_download_view(request: HttpRequest, token: str) -> HttpResponse:
    """Serve a stored file for a signed, unexpired link: on the host the link was made on,
    when that is the host of the school the file belongs to, or to the school's own
    bureau on the bureau host.

    Every download is recorded (read.file: the signed-in user, else the account the link
    was made for; the file; its school) before any byte leaves: from disk the file is
    streamed, from S3 the browser is redirected to a presigned URL made now."""
    from tenants.context import school_context

    grant = download_grant(token)
    here = connection.schema_name
    if grant is None or grant.host != here:
        raise Http404
    if grant.schema != here and not _bureau_may_read(request, grant.schema):
        raise Http404
    # The storage prefix follows the active schema, so read inside the file's school.
    with school_context(grant.schema):
        if not default_storage.exists(grant.key):
            raise Http404
    user = request.user if request.user.is_authenticated else None
    audit_record(
        request=request,
        actor=user or grant.issued_to,
        action=READ_FILE,
        object_type="file",
        object_repr=grant.key,
        school=grant.schema,
        after={"issued_to": grant.issued_to}
        if grant.issued_to and grant.issued_to != getattr(user, "username", "")
        else None,
    )
    with school_context(grant.schema):
        if isinstance(default_storage, SchoolS3Storage):
            return HttpResponseRedirect(default_storage.presigned_url(grant.key))
        handle = default_storage.open(grant.key, "rb")
    content_type = mimetypes.guess_type(grant.key)[0] or "application/octet-stream"
    return FileResponse(handle, content_type=content_type)
