"""API routes of accounts, included by both hosts' URLconfs (platform/config)."""

from django.urls import path

from accounts import apis

# Every host: the signed-in user's own sessions and step-up re-authentication.
common_patterns = [
    path("api/v1/me/sessions/", apis.MySessionListApi.as_view(), name="api-me-sessions"),
    path(
        "api/v1/me/sessions/end-others/",
        apis.MySessionsEndOthersApi.as_view(),
        name="api-me-sessions-end-others",
    ),
    path(
        "api/v1/me/sessions/<int:session_id>/end/",
        apis.MySessionEndApi.as_view(),
        name="api-me-session-end",
    ),
    path("api/v1/auth/reauth/", apis.ReauthApi.as_view(), name="api-reauth"),
]

# School hosts: the school administrator manages the school's accounts.
school_patterns = [
    path(
        "api/v1/users/<int:user_id>/unlock/",
        apis.UserUnlockApi.as_view(),
        name="api-user-unlock",
    ),
    path(
        "api/v1/users/<int:user_id>/active/",
        apis.UserActiveApi.as_view(),
        name="api-user-active",
    ),
]
