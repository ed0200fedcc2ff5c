"""The OAuth endpoints Tessera serves under /o/: authorize, token and revoke_token, nothing else.

django-oauth-toolkit's full URL set would add self-service client registration
(`applications/`, and dynamic registration at `register/`), which let any signed-in person
register a client and have others authorise it. Clients are registered by administrators only:
in the admin or with `manage.py oauth_client_create`. The OpenID Connect routes
(`.well-known/openid-configuration`, `userinfo/`) are left out until Tessera signs people in
with OIDC; the device flow and DOT's own introspection (Tessera's is /api/v1/tokens/introspect)
are not used.
"""

from csp.decorators import csp_replace
from django.urls import path
from oauth2_provider import views

app_name = "oauth2_provider"

urlpatterns = [
    # The consent form posts to itself, then redirects to the client's redirect URI, which browsers
    # check against the CSP's form-action: lift that one directive on this one page.
    path(
        "authorize/",
        csp_replace({"form-action": None})(views.AuthorizationView.as_view()),
        name="authorize",
    ),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
]
