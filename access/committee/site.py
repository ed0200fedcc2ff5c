"""The admin site, branded as the committee workspace. Its home page starts with what waits for
the person (`access.selectors.review_work_for`): the reviews that need their vote or their
decision, those waiting for the applicant and those overdue, each a link to the queue filtered
to them. Its committee reports (`report_views`) are at /admin/reports/. Every app registers its
ModelAdmins here, as on the stock `admin.site`."""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.urls import path, reverse

from .. import selectors
from . import report_views

# The queue's filter values, in the order of the home page's cards (`filters.NeedsMeFilter`).
HOME_CARDS = [
    ("vote", "Needs your vote", "needs_vote"),
    ("decision", "Needs your decision", "needs_decision"),
    ("applicant", "Waiting for the applicant", "waiting_for_applicant"),
    ("overdue", "Overdue", "overdue"),
]


class WorkspaceSite(admin.AdminSite):
    site_header = "Tessera — committee workspace"
    site_title = "Tessera committee workspace"
    index_title = "Your committee work"
    index_template = "admin/workspace_index.html"

    def get_urls(self):
        reports = [
            path(
                "reports/",
                self.admin_view(partial(report_views.report_list_view, site=self)),
                name="committee_reports",
            ),
            path(
                "reports/<slug:slug>/",
                self.admin_view(partial(report_views.report_view, site=self)),
                name="committee_report",
            ),
        ]
        return reports + super().get_urls()

    def index(self, request, extra_context=None):
        return super().index(request, {**home_context(request), **(extra_context or {})})


def home_context(request) -> dict:
    """The home page's cards: one per kind of waiting work, with its count and queue link."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return {}
    work = selectors.review_work_for(user)
    if not (work.on_a_panel or user.is_superuser):
        return {}  # no committee, no reviews: the home is the admin's list of models
    queue = reverse("admin:access_review_changelist")
    cards = [
        {
            "key": key,
            "label": label,
            "count": len(getattr(work, attribute)),
            "url": f"{queue}?needs={key}",
        }
        for key, label, attribute in HOME_CARDS
    ]
    return {
        "work_cards": cards,
        "on_a_panel": work.on_a_panel,
        "all_reviews_url": f"{queue}?needs=all",
    }
