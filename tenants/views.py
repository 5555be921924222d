from __future__ import annotations

import mimetypes

from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest

from accounts.audit import audit_record
from tenants.storage import download_token_payload


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


def file_download_view(request: HttpRequest, token: str) -> FileResponse:
    """Serve a file from local storage for a signed, unexpired URL: on the host of the
    school it belongs to, or to the school's own bureau on the bureau host."""
    from tenants.context import school_context

    payload = download_token_payload(token)
    if payload is None:
        raise Http404
    schema, key = payload
    if schema != connection.schema_name and not _bureau_may_read(request, schema):
        raise Http404
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    # The storage prefix follows the active schema, so read inside the file's school.
    with school_context(schema):
        if not default_storage.exists(key):
            raise Http404
        handle = default_storage.open(key, "rb")
    audit_record(
        request=request, action="read.file", object_type="file", object_repr=key, school=schema
    )
    return FileResponse(handle, content_type=content_type)
