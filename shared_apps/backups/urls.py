"""Backup routes: `public_patterns` on the bureau host, `school_patterns` on a school's
host; both under the "backups" namespace (config.urls_public / config.urls_school)."""

from django.urls import path

from shared_apps.backups import apis, views

app_name = "backups"

public_patterns = [
    path("bureau/backups/", views.overview_view, name="overview"),
    path("bureau/schools/<int:school_id>/backups/", views.school_backups_view, name="school"),
    path(
        "bureau/schools/<int:school_id>/backups/restore/",
        views.school_restore_view,
        name="restore",
    ),
    path(
        "api/v1/schools/<int:school_id>/backups/",
        apis.SchoolBackupListCreateApi.as_view(),
        name="api-school-backups",
    ),
    path(
        "api/v1/schools/<int:school_id>/backups/restore/",
        apis.SchoolBackupRestoreApi.as_view(),
        name="api-school-backup-restore",
    ),
]

school_patterns = [
    path("backups/", views.own_backups_view, name="own"),
    path("api/v1/backups/", apis.OwnBackupListCreateApi.as_view(), name="api-own-backups"),
]
