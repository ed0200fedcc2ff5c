"""The portal's token button (namespace "tokens"); the storage tier's API is in tokens/api/urls.py."""

from django.urls import path

from . import token_views

urlpatterns = [
    path("access/<int:pk>/token/", token_views.grant_token, name="grant-token"),
]
