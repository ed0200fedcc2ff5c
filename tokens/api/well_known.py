"""The token signing keys at /.well-known/ (the storage tier's API is in tokens/api/urls.py)."""

from django.urls import path

from .tokens import jwks

urlpatterns = [
    path("jwks.json", jwks, name="jwks"),
]
