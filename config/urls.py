from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from access.api.views import AccessRequestViewSet, GrantViewSet
from core.health import healthz, readyz
from governance.api.consent import ConsentEvaluateView
from governance.api.views import DatasetViewSet
from tokens.api.tokens import jwks

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `.json` suffix routes: undocumented, and the custom actions (submit, decide, ...) answered
# them with a TypeError 500 (found by tests/test_bad_input_fuzz.py).
router.include_format_suffixes = False
router.register("datasets", DatasetViewSet, basename="dataset")
router.register("access-requests", AccessRequestViewSet, basename="access-request")
router.register("grants", GrantViewSet, basename="grant")

api_v1 = [
    path("", include(router.urls)),
    path("audit/", include("audit.api.urls")),
    path("consent/evaluate", ConsentEvaluateView.as_view(), name="consent-evaluate"),
    path("", include("tokens.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path(".well-known/jwks.json", jwks, name="jwks"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script for the CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("o/", include("tokens.oauth_urls", namespace="oauth2_provider")),
    path("", include(("access.urls", "access"), namespace="access")),
    path("", include(("tokens.urls", "tokens"), namespace="tokens")),
    path("", include(("governance.urls", "portal"), namespace="portal")),
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
