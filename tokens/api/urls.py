"""Storage-tier endpoints under /api/v1/ (the JWKS is at /.well-known/jwks.json)."""

from django.urls import path

from . import tokens

urlpatterns = [
    path("tokens/", tokens.TokenCreateView.as_view(), name="token-create"),
    path("tokens/introspect", tokens.IntrospectView.as_view(), name="token-introspect"),
    path("tokens/revoked", tokens.RevocationFeedView.as_view(), name="token-revoked"),
    path("ga4gh/permissions/<str:user>", tokens.PassportView.as_view(), name="ga4gh-permissions"),
]
