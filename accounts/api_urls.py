"""API routes of accounts, included by both hosts' URLconfs (platform/config)."""

from django.urls import path

from accounts import apis, views

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
    path(
        "api/v1/me/tokens/<int:token_id>/revoke/",
        apis.MyTokenRevokeApi.as_view(),
        name="api-me-token-revoke",
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
    path(
        "api/v1/users/<int:user_id>/password-reset/",
        apis.UserPasswordResetApi.as_view(),
        name="api-user-password-reset",
    ),
]

# Bureau host: the platform operator manages bureau and platform accounts (账号管理).
public_patterns = [
    path("accounts/platform-users/", views.platform_user_list_view, name="platform_users"),
    path(
        "accounts/platform-users/<int:public_user_id>/unlock/",
        views.platform_user_unlock_view,
        name="platform_user_unlock",
    ),
    path(
        "accounts/platform-users/<int:public_user_id>/active/",
        views.platform_user_active_view,
        name="platform_user_active",
    ),
    path("api/v1/platform-users/", apis.PlatformUserListApi.as_view(), name="api-platform-users"),
    path(
        "api/v1/platform-users/<int:public_user_id>/unlock/",
        apis.PlatformUserUnlockApi.as_view(),
        name="api-platform-user-unlock",
    ),
    path(
        "api/v1/platform-users/<int:public_user_id>/active/",
        apis.PlatformUserActiveApi.as_view(),
        name="api-platform-user-active",
    ),
]
