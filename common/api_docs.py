"""Swagger UI at /api/docs/, its files served from this host's static files.

drf-spectacular-sidecar ships Swagger UI (SWAGGER_UI_DIST = "SIDECAR"), so the page
loads nothing from another origin (the project serves no CDN file). The split view
serves its start-up script as a separate same-origin file (`/api/docs/?script`), so no
inline script is needed; what remains is the template's small inline <style> block,
allowed on this view's responses only, never on the product's pages.
"""

from __future__ import annotations

from csp.decorators import csp_update
from drf_spectacular.views import SpectacularSwaggerSplitView

API_DOCS_CSP = {
    # The template's inline <style> block (three rules).
    "style-src": ["'unsafe-inline'"],
}

api_docs_view = csp_update(API_DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))
