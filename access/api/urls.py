"""Access requests, grants, reviews and committee reports under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .reports import CommitteeReportView
from .views import AccessRequestViewSet, GrantViewSet, InvitationAnswerView, ReviewViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `.json` suffix routes: undocumented, and the custom actions (submit, decide, ...) answered
# them with a TypeError 500 (found by tests/test_bad_input_fuzz.py).
router.include_format_suffixes = False
router.register("access-requests", AccessRequestViewSet, basename="access-request")
router.register("grants", GrantViewSet, basename="grant")
router.register("reviews", ReviewViewSet, basename="review")

urlpatterns = [
    path("committees/<slug:slug>/report", CommitteeReportView.as_view(), name="committee-report"),
    path("invitations/answer/", InvitationAnswerView.as_view(), name="invitation-answer"),
    path("", include(router.urls)),
]
