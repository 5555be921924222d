from __future__ import annotations

import mimetypes

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest

from tenants.storage import download_token_read


def file_download_view(request: HttpRequest, token: str) -> FileResponse:
    """Serve a file from local storage for a signed, unexpired URL of this very host."""
    key = download_token_read(token)
    if key is None or not default_storage.exists(key):
        raise Http404
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return FileResponse(default_storage.open(key, "rb"), content_type=content_type)
