"""Helpers for the tests of the access admin and the committee's review workspace: its URLs, the
queue's rows, the approve form's data, the page's messages."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from governance import services as gov


def review_for(access_request, committee):
    return access_request.reviews.get(committee=committee)


def page(review) -> str:
    return reverse("admin:access_review_change", args=[review.pk])


def url(name: str, review, *more) -> str:
    return reverse(f"admin:access_review_{name}", args=[review.pk, *more])


def changelist(client, **params):
    """The review queue; the whole of it unless `needs` says otherwise (it opens on "needs me")."""
    params.setdefault("needs", "all")
    return client.get(reverse("admin:access_review_changelist"), params)


def listed(response) -> set[int]:
    return {review.pk for review in response.context["cl"].result_list}


def approve_data(dataset, *, end=None, conditions="Cite the dataset."):
    end = end or timezone.localdate() + timedelta(days=180)
    return {
        "outcome": "approve",
        "approve-end_date": end.isoformat(),
        "approve-conditions": conditions,
        "approve-datasets": [dataset.pk],
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def set_policy(committee, policy, quorum=1):
    committee.decision_policy = policy
    committee.quorum = quorum
    return gov.committee_update(committee=committee, actor=None)
