"""A school's own host (<slug>.BASE_DOMAIN)."""

from django.urls import include, path

from accounts.apis import UserListCreateApi
from config.urls_common import common_patterns
from tenant_apps.registry import apis as registry_apis
from tenant_apps.registry.views import school_home

urlpatterns = [
    path("", school_home, name="home"),
    path("registry/", include("tenant_apps.registry.urls")),
    path("api/v1/school/", registry_apis.SchoolInfoApi.as_view(), name="api-school-info"),
    path("api/v1/classes/", registry_apis.ClassListApi.as_view(), name="api-class-list"),
    path("api/v1/users/", UserListCreateApi.as_view(), name="api-user-list"),
    *common_patterns("config.urls_school"),
]
