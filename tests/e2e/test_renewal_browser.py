"""A renewal in a real browser (issue 14, Proof): the researcher whose access ends within 60
days asks for more time on the request's page (the form says what is missing next to each
field), the committee's chair sees the renewal, its progress report and the current end dates on
the review page and approves, and the access continues on the same grant with a later end.

Same Chromium and fixtures as the journey (tests/e2e/conftest.py)."""

from __future__ import annotations

import re

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from access.models import AccessRequest, Grant
from tests.access_world import approve_part, submit_request

from .conftest import Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT = "TIL counts done on 300 slides; preprint doi:10.1101/2026.05.01.000002."


def open_review(tab: Journey, reference: str) -> None:
    tab.page.goto("/admin/access/review/")
    tab.click_and_load(tab.role("link", reference, exact=True))
    tab.expect(tab.role("heading", re.compile(rf"^{reference} — ")))


def test_a_researcher_asks_for_more_time_and_the_chair_approves(world, journey):
    lung, _ = world["datasets"]
    parent = submit_request(world["researcher"], [lung], country="NL")
    last_day = approve_part(parent, lung, world["chair"], days=20)
    grant = Grant.objects.get(request=parent, user=world["researcher"])

    researcher = journey("researcher")
    researcher._sign_in(f"/accounts/login/?next={parent.get_absolute_url()}", "Sign in")
    researcher.click_and_load(researcher.role("link", f"Ask for more time on {parent.reference}"))
    researcher.expect(researcher.role("heading", f"Ask for more time on {parent.reference}"))
    page = researcher.page
    page.get_by_label("How many more months").fill("")
    researcher.click_and_load(researcher.role("button", "Ask for more time"))
    researcher.expect_text("Say how many more months you need.")
    researcher.expect_text("Report on the project's progress")
    assert not AccessRequest.objects.filter(kind="renewal").exists()

    page.get_by_label("How many more months").fill("6")
    page.get_by_label("Progress report").fill(REPORT)
    researcher.click_and_load(researcher.role("button", "Ask for more time"))
    renewal = AccessRequest.objects.get(kind="renewal")
    researcher.expect_text(f"Asked for 6 more months: {renewal.reference} went to the committees.")
    researcher.expect(researcher.role("heading", f"Renewal of {parent.reference}"))

    chair = journey("chair")
    chair._sign_in("/admin/login/?next=/admin/access/review/", "Log in")
    open_review(chair, renewal.reference)
    chair.expect(chair.role("heading", re.compile(rf"^Renewal of {parent.reference}")))
    chair.expect_text(REPORT)
    chair.click_and_load(chair.role("button", "Approve", exact=True))
    chair.expect_text("Approved; the renewal extended the grants as the decision below says.")

    grant.refresh_from_db()
    assert (grant.valid_until - timezone.timedelta(days=1)).date() == last_day + relativedelta(
        months=6
    )
    researcher.page.goto(renewal.get_absolute_url())
    researcher.expect_text(re.compile(r"extended from .* to "))
    assert researcher.csp_violations == [] and chair.csp_violations == []
