from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change_view, name="password_change"),
    path("users/", views.user_list_view, name="user_list"),
    path("users/<int:user_id>/unlock/", views.user_unlock_view, name="user_unlock"),
    path("users/<int:user_id>/active/", views.user_active_view, name="user_active"),
    path("sessions/", views.sessions_view, name="sessions"),
    path("sessions/<int:session_id>/end/", views.session_end_view, name="session_end"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("sessions/end-others/", views.sessions_end_others_view, name="sessions_end_others"),
    path("reauth/", views.reauth_view, name="reauth"),
    path("two-factor/", views.two_factor_view, name="two_factor"),
]
