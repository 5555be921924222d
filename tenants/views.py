from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase

from accounts.audit import READ_FILE, audit_record
from tenants.storage import SchoolS3Storage, download_grant, download_name, download_permitted


def _requester(request: HttpRequest) -> Any:
    """The signed-in user: the session's, else an API client's (the API's own
    authentication classes, so an `annotated_url` from the API opens with the same
    token); None when neither."""
    from rest_framework.exceptions import APIException
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    if request.user.is_authenticated:
        return request.user
    if not request.META.get("HTTP_AUTHORIZATION"):
        return None
    authenticators = [cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES]  # type: ignore[operator]
    try:
        user = Request(request, authenticators=authenticators).user
    except APIException:
        return None
    return user if user.is_authenticated else None


def file_download_view(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve a stored file for a signed, unexpired link to a signed-in user of the host
    the link was made on who may have it (tenants.storage.download_permitted): the account
    it was issued to, a holder of the right for that kind of file, or on the bureau host
    the officers governing the file's school. A link opened without a session leads to
    the login page (and back); an API call without a valid token is refused; anyone else
    gets 404, as for a forged or expired link.

    Every download is recorded (read.file: the requester, never merely the account the
    link was made for; the file; its school) before any byte leaves: from disk the file is
    streamed, from S3 the browser is redirected to a presigned URL made now."""
    from tenants.context import school_context

    user = _requester(request)
    if user is None:
        if request.META.get("HTTP_AUTHORIZATION"):
            raise PermissionDenied
        return redirect_to_login(request.get_full_path())
    grant = download_grant(token)
    if grant is None or not download_permitted(grant, user):
        raise Http404
    # The storage prefix follows the active schema, so read inside the file's school.
    with school_context(grant.schema):
        if not default_storage.exists(grant.key):
            raise Http404
    audit_record(
        request=request,
        actor=user,
        action=READ_FILE,
        object_type="file",
        object_repr=grant.key,
        school=grant.schema,
        after={"issued_to": grant.issued_to}
        if grant.issued_to and grant.issued_to != user.username
        else None,
    )
    with school_context(grant.schema):
        if isinstance(default_storage, SchoolS3Storage):
            return HttpResponseRedirect(default_storage.presigned_url(grant.key))
        handle = default_storage.open(grant.key, "rb")
    content_type = mimetypes.guess_type(grant.key)[0] or "application/octet-stream"
    filename = download_name(grant.key)
    if filename is None:
        return FileResponse(handle, content_type=content_type)
    return FileResponse(handle, content_type=content_type, as_attachment=True, filename=filename)
