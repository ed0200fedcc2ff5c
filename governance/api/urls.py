"""The catalogue's API under /api/v1/: datasets and the consent check."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .consent import ConsentEvaluateView
from .views import DatasetViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `.json` suffix routes: undocumented, and the custom actions answered them with a TypeError
# 500 (found by tests/test_bad_input_fuzz.py).
router.include_format_suffixes = False
router.register("datasets", DatasetViewSet, basename="dataset")

urlpatterns = [
    path("", include(router.urls)),
    path("consent/evaluate", ConsentEvaluateView.as_view(), name="consent-evaluate"),
]
