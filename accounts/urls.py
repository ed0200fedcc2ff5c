"""Sign-in and sign-out: the login page, OpenID Connect (404 without a configured provider),
logout. Names are not namespaced (`login`, `logout`, as Django's settings expect)."""

from django.urls import path

from . import views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/oidc/login/", views.oidc_login, name="oidc-login"),
    path("accounts/oidc/callback/", views.oidc_callback, name="oidc-callback"),
]
