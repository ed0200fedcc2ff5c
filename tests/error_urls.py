"""Tessera's URLs plus views that fail, for tests/test_error_pages.py (handlers as in config)."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from config import urls
from core.exceptions import Conflict, Forbidden, Invalid


def boom(request):
    raise RuntimeError("the database is gone")


def forbidden(request):
    raise PermissionDenied


def conflict(request):
    raise Conflict("This grant is already revoked.")


def invalid(request):
    raise Invalid({"reason": "Say why the grant is revoked."})


def refused(request):
    raise Forbidden("Only the chair or the secretary may close a review.")


urlpatterns = [
    path("conflict/", conflict),
    path("invalid/", invalid),
    path("refused/", refused),
    path("api/v1/conflict/", conflict),
    path("boom/", boom),
    path("api/v1/boom/", boom),
    path("forbidden/", forbidden),
    *urls.urlpatterns,
]
handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500
