"""Sign-in and sign-out: the login page, OpenID Connect (404 without a configured provider),
logout. Names are not namespaced (`login`, `logout`, as Django's settings expect)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import account_views, views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/oidc/login/", views.oidc_login, name="oidc-login"),
    path("accounts/oidc/link/", views.oidc_link, name="oidc-link"),
    path("accounts/oidc/callback/", views.oidc_callback, name="oidc-callback"),
    # A person's own account, the staff's second factor, password reset (Django's names, which
    # its views reverse): accounts/account_views.py.
    path("accounts/me/", account_views.account, name="account"),
    path(
        "accounts/me/notifications/",
        account_views.account_notifications,
        name="account-notifications",
    ),
    path("accounts/mfa/", account_views.mfa_page, name="mfa"),
    path(
        "accounts/password/reset/",
        account_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
