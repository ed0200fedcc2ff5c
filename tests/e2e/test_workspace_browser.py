"""The committee workspace (issue 13, part 2) in a browser at 1280 px: a member finds "needs your
vote" on the home and votes; the chair's queue and review page fit the width (no sideways
scrolling) and their buttons are large; the secretary closes a review through the confirmation,
with a reason the applicant reads.

Same Chromium and fixtures as the journey (tests/e2e/conftest.py)."""

from __future__ import annotations

import re

import pytest

from access.choices import ReviewStatus
from access.models import Review
from audit.choices import EventType
from audit.models import AuditEvent
from governance import services as gov
from tests import factories
from tests.access_world import submit_request

from .conftest import Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sideways_scroll(tab: Journey) -> int:
    return tab.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def _sign_in(tab: Journey) -> None:
    tab._sign_in("/admin/login/?next=/admin/", "Log in")
    tab.expect(tab.role("heading", "What waits for you"))


def test_member_votes_the_queue_fits_1280_and_the_secretary_closes_with_a_reason(world, journey):
    lung, _ = world["datasets"]
    human, _ = world["committees"]
    human.decision_policy = "majority"
    human.quorum = 1
    gov.committee_update(committee=human, actor=None)
    member = factories.committee_staff("member", human, "member")
    secretary = factories.committee_staff("secretary", human, "secretary")
    request = submit_request(
        world["researcher"],
        [lung],
        title="Tumour-infiltrating lymphocytes and response to immunotherapy in resected "
        "non-small cell lung cancer: a multicentre retrospective cohort",
    )
    review = Review.objects.get(request=request)
    reference = request.reference

    # The member: the home says one review needs their vote; the link opens it in the queue.
    tab = journey(member.username)
    _sign_in(tab)
    tab.expect_text("Tessera — committee workspace")
    tab.shot("workspace-01-home")
    tab.click_and_load(tab.page.locator("#work-vote"))
    tab.expect(tab.role("link", reference, exact=True))
    assert _sideways_scroll(tab) == 0, "the queue scrolls sideways at 1280 px"
    tab.shot("workspace-02-queue")
    tab.click_and_load(tab.role("link", reference, exact=True))
    assert _sideways_scroll(tab) == 0, "the review page scrolls sideways at 1280 px"
    tab.shot("workspace-03-review")
    # Only voting is offered to the member, and one sentence says who decides.
    assert tab.page.get_by_text(re.compile(r"^Only the chair, .* or the secretary, .*")).count()
    assert tab.role("button", "Approve", exact=True).count() == 0
    tab.role("radio", "Approve", exact=True).check()
    tab.page.get_by_label("Rationale").fill("The purpose fits the consent.")
    tab.click_and_load(tab.role("button", "Cast vote"))
    tab.expect_text("Your vote (approve) is recorded.")
    button = tab.role("button", "Cast vote").bounding_box()
    assert button["height"] >= 44, button

    # The secretary closes the review through the confirmation page.
    clerk = journey(secretary.username)
    _sign_in(clerk)
    clerk.page.goto(f"/admin/access/review/{review.pk}/change/")
    clerk.click_and_load(clerk.role("link", "Close review…"))
    clerk.expect_text("cannot be reopened")
    clerk.click_and_load(clerk.role("button", "Close the review"))
    clerk.expect_text("Say why the review is closed")  # no reason: asked again
    clerk.shot("workspace-04-close-confirm")
    review.refresh_from_db()
    assert review.status != ReviewStatus.CLOSED
    clerk.page.get_by_label("Reason for closing").fill("The applicant asked us to stop.")
    clerk.click_and_load(clerk.role("button", "Close the review"))
    clerk.expect_text("The review is closed; the applicant is told your reason.")
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED
    event = AuditEvent.objects.get(event_type=EventType.REVIEW_CLOSED, target_id=str(review.pk))
    assert event.payload["reason"] == "The applicant asked us to stop."
    for tab_ in (tab, clerk):
        assert tab_.csp_violations == []
