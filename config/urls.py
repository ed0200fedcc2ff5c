"""The site's URLs: each app's, included. No views are listed here."""

from django.contrib import admin
from django.urls import include, path

api_v1 = [
    path("", include("governance.api.urls")),
    path("", include("access.api.urls")),
    path("audit/", include("audit.api.urls")),
    path("", include("tokens.api.urls")),
]

urlpatterns = [
    path("", include("core.urls")),
    path("", include("accounts.urls")),
    path(".well-known/", include("tokens.api.well_known")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("o/", include("tokens.oauth_urls", namespace="oauth2_provider")),
    path("", include(("access.urls", "access"), namespace="access")),
    path("", include(("tokens.urls", "tokens"), namespace="tokens")),
    path("", include(("governance.urls", "portal"), namespace="portal")),
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
