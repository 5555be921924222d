"""Swagger UI at /api/docs/, under a Content-Security-Policy relaxed for it alone.

drf-spectacular's page loads Swagger UI from its CDN (SWAGGER_UI_DIST) and carries a
small inline <style> block. The split view serves its start-up script as a separate
same-origin file (`/api/docs/?script`), so no inline script is needed; what remains is
allowed here, on this view's responses only, never on the product's pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.decorators import csp_update
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.views import SpectacularSwaggerSplitView


def _cdn_origin() -> str:
    parts = urlsplit(spectacular_settings.SWAGGER_UI_DIST)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"


CDN = _cdn_origin()
API_DOCS_CSP = {
    "script-src": [CDN],
    # The template's inline <style> block (three rules) and Swagger UI's own stylesheet.
    "style-src": [CDN, "'unsafe-inline'"],
    "img-src": [CDN],
}

api_docs_view = csp_update(API_DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))
