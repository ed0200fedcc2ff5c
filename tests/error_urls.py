"""Tessera's URLs plus views that fail, for tests/test_error_pages.py (handlers as in config)."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from config import urls


def boom(request):
    raise RuntimeError("the database is gone")


def forbidden(request):
    raise PermissionDenied


urlpatterns = [
    path("boom/", boom),
    path("api/v1/boom/", boom),
    path("forbidden/", forbidden),
    *urls.urlpatterns,
]
handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500
