"""A project's life after its first approval in a real browser (issue 14, Proof): the researcher
changes the approved project ("Change this project"), adding a dataset of a second committee
from its catalogue page; only that committee reviews the change, and its chair approves it on
the review page; the project then holds both datasets. Its access ending within 60 days, the
researcher asks for more time, and both committees approve the renewal: the same grants
continue with a later end.

Same Chromium and fixtures as the journey (tests/e2e/conftest.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from access.models import AccessRequest, Grant
from tests.access_world import approve_part, submit_request

from .conftest import Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT = "TIL model trained on both cohorts; preprint doi:10.1101/2026.05.01.000003."


def open_review(tab: Journey, reference: str) -> None:
    tab.page.goto("/admin/access/review/")
    tab.click_and_load(tab.role("link", reference, exact=True))
    tab.expect(tab.role("heading", re.compile(rf"^{reference} — ")))


def test_a_researcher_changes_the_project_then_asks_for_more_time(world, journey):
    lung, nsclc = world["datasets"]
    project = submit_request(world["researcher"], [lung], country="NL")
    last_day = approve_part(project, lung, world["chair"], days=20)

    researcher = journey("researcher")
    researcher._sign_in(f"/accounts/login/?next={project.get_absolute_url()}", "Sign in")
    researcher.click_and_load(researcher.role("button", f"Change this project {project.reference}"))
    amendment = AccessRequest.objects.get(kind="amendment")
    ref = amendment.reference
    researcher.expect_text(re.compile(rf"^Started {ref}, a change to {project.reference}\."))

    # The second committee's dataset joins the change from its catalogue page (the cart).
    page = researcher.page
    page.goto(nsclc.get_absolute_url())
    researcher.click_and_load(researcher.role("button", f"Add to draft {ref}"))
    researcher.expect_text(re.compile(rf"^Added {nsclc.accession} to {ref}"))
    page.goto(amendment.get_absolute_url())
    researcher.expect(researcher.role("heading", f"Change to {project.reference}"))
    researcher.expect_text(f"Adds {nsclc.accession}.")
    researcher.expect_text(f"Nordic Pathology DAC: adds {nsclc.accession}.")
    researcher.shot("01-change-drafted")
    researcher.click_and_load(
        researcher.role("button", "I accept Nordic Pathology DAC data access agreement, version 1")
    )
    researcher.click_and_load(researcher.role("link", f"Submit request {ref}"))
    researcher.click_and_load(researcher.role("button", f"Submit request {ref}"))
    researcher.expect_text(
        f"Submitted {ref} to Nordic Pathology DAC, the committees the change concerns. Until it "
        f"approves, {project.reference} continues as it is."
    )
    assert [r.committee.slug for r in amendment.reviews.all()] == ["nordic-dac"]

    # Only the second committee reviews it; its chair sees what changes and approves.
    chair2 = journey("chair2")
    chair2.sign_in_admin()
    open_review(chair2, ref)
    chair2.expect(chair2.role("heading", re.compile(rf"^Change to {project.reference}")))
    chair2.expect_text(
        re.compile(rf"This committee reviews it because it adds {nsclc.accession}\.")
    )
    chair2.shot("02-change-review")
    chair2.click_and_load(chair2.role("button", "Approve", exact=True))
    chair = journey("chair")
    chair.sign_in_admin()
    chair.page.goto("/admin/access/review/?needs=all")
    chair.expect(chair.role("link", project.reference, exact=True))
    assert ref not in chair.page.content()  # the first committee has nothing to review

    amendment.refresh_from_db()
    assert amendment.applied_at is not None
    grants = {g.dataset_id: g for g in Grant.objects.filter(request=project)}
    assert set(grants) == {lung.pk, nsclc.pk}
    page.goto(project.get_absolute_url())
    researcher.expect_text(f"The change {ref} was made to the project: 1 grant given, 0 ended.")

    # Both grants end within 60 days: the researcher asks for more time on the project.
    researcher.click_and_load(researcher.role("link", f"Ask for more time on {project.reference}"))
    page.get_by_label("How many more months").fill("6")
    page.get_by_label("Progress report").fill(REPORT)
    researcher.click_and_load(researcher.role("button", "Ask for more time"))
    renewal = AccessRequest.objects.get(kind="renewal")
    researcher.expect_text(f"Asked for 6 more months: {renewal.reference} went to the committees.")
    assert {r.committee.slug for r in renewal.reviews.all()} == {"human-dac", "nordic-dac"}
    for tab in (chair, chair2):
        open_review(tab, renewal.reference)
        tab.expect_text(REPORT)
        tab.click_and_load(tab.role("button", "Approve", exact=True))
        tab.expect_text("Approved; the renewal extended the grants as the decision below says.")
    for grant in grants.values():
        before = grant.valid_until
        grant.refresh_from_db()
        assert grant.revoked_at is None
        assert grant.valid_until > before
    lung_grant = grants[lung.pk]
    assert (lung_grant.valid_until - timedelta(days=1)).date() == last_day + relativedelta(months=6)
    assert researcher.csp_violations == [] and chair.csp_violations == []
    assert chair2.csp_violations == []
