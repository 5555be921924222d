"""URL patterns served on every host (school hosts and the bureau host)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts import api_urls as account_api_urls
from accounts import apis as account_apis
from common.api_docs import api_docs_view
from shared_apps.bureau.apis import RegionListApi
from shared_apps.jobs import apis as job_apis
from tenants.views import file_download_view


def common_patterns(urlconf: str) -> list:
    return [
        path("accounts/", include("accounts.urls")),
        path("jobs/", include("shared_apps.jobs.urls")),
        path("i18n/", include("django.conf.urls.i18n")),
        path("files/<str:token>/", file_download_view, name="file-download"),
        path("api/v1/me/", account_apis.MeApi.as_view(), name="api-me"),
        path("api/v1/auth/token/", account_apis.TokenObtainApi.as_view(), name="api-token"),
        path(
            "api/v1/auth/password/", account_apis.PasswordChangeApi.as_view(), name="api-password"
        ),
        path("api/v1/jobs/", job_apis.JobListApi.as_view(), name="api-job-list"),
        path("api/v1/jobs/<uuid:job_id>/", job_apis.JobDetailApi.as_view(), name="api-job-detail"),
        path("api/v1/regions/", RegionListApi.as_view(), name="api-region-list"),
        *account_api_urls.common_patterns,
        # Each host documents its own API: the schema is generated from its URLconf.
        path("api/schema/", SpectacularAPIView.as_view(urlconf=urlconf), name="api-schema"),
        path("api/docs/", api_docs_view, name="api-docs"),
    ]
