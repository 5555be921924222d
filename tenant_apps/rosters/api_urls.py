from django.urls import path

from tenant_apps.rosters import apis

urlpatterns = [
    path("uploads/", apis.UploadListApi.as_view(), name="api-roster-uploads"),
    path("uploads/<uuid:upload_id>/", apis.UploadDetailApi.as_view(), name="api-roster-upload"),
    path("uploads/<uuid:upload_id>/mapping/", apis.MappingApi.as_view(), name="api-roster-mapping"),
    path("uploads/<uuid:upload_id>/rows/", apis.RowListApi.as_view(), name="api-roster-rows"),
    path(
        "uploads/<uuid:upload_id>/rows/<int:row_id>/",
        apis.RowDetailApi.as_view(),
        name="api-roster-row",
    ),
    path("uploads/<uuid:upload_id>/promote/", apis.PromoteApi.as_view(), name="api-roster-promote"),
]
