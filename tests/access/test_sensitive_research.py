"""Sensitive research (issue 17): the applicant says so in its own part of the form, the engine
sends it to the committee with the reason, and the committee's review page shows it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access.models import ConsentMatch
from governance import matching
from tests import factories
from tests.access_world import submit_request

from .test_portal import client_for, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_dataset(committee, organisation):
    """A dataset whose consent (general research use) allows any purpose."""
    scope = factories.consent_scope("GRU")
    return factories.dataset(committee=committee, controller=organisation, consent_scope=scope)


def test_the_request_form_asks_about_sensitive_research_in_a_part_of_its_own(researcher):
    html = client_for(researcher).get(reverse("access:request-create")).content.decode()
    heading = html.index("Does it involve sensitive research?")
    for name in matching.SENSITIVE_FLAGS:
        assert html.index(f'name="{name}"') > heading, name
    for name in ("methods_development", "clinical_care"):
        assert html.index(f'name="{name}"') < heading, name


def test_the_catalogue_asks_the_same_sensitive_questions_apart(client):
    html = client.get("/datasets/").content.decode()
    legend = html.index("Sensitive research (always decided by a committee)")
    for name in matching.SENSITIVE_FLAGS:
        assert html.index(f'name="p-{name}"') > legend, name


def test_a_sensitive_purpose_on_an_open_consent_goes_to_the_committee_with_the_reason(
    researcher, open_dataset, agreement, chair
):
    submitted = submit_request(researcher, [open_dataset], children=True)
    match = ConsentMatch.objects.get(request=submitted, dataset=open_dataset)
    assert match.decision == "review"
    assert match.engine_version == matching.ENGINE_VERSION
    reasons = [r["reason"] for r in match.rules if r["outcome"] == "review"]
    assert reasons == [
        "Sensitive research (research on children (under 18)): always a committee's "
        "decision, whatever the consent allows."
    ]
    review = submitted.reviews.get()
    page = text_of(client_for(chair).get(reverse("admin:access_review_change", args=[review.pk])))
    assert "Sensitive research Research on children (under 18)" in page
    assert "Always the committee's decision" in page


def test_the_review_page_says_none_stated_when_no_sensitive_box_is_ticked(
    researcher, open_dataset, agreement, chair
):
    submitted = submit_request(researcher, [open_dataset])
    review = submitted.reviews.get()
    page = text_of(client_for(chair).get(reverse("admin:access_review_change", args=[review.pk])))
    assert "Sensitive research None stated" in page


def test_the_evaluate_endpoint_takes_the_sensitive_flags(client, researcher):
    client.force_login(researcher)
    body = {"consent": {"permission": "GRU"}, "purpose": {"diseases": ["DOID:1324"]}}
    plain = client.post("/api/v1/consent/evaluate", body, content_type="application/json")
    assert plain.json()["decision"] == "approve"
    body["purpose"]["psychological_traits"] = True
    flagged = client.post("/api/v1/consent/evaluate", body, content_type="application/json")
    assert flagged.status_code == 200
    assert flagged.json()["decision"] == "review"
    assert "psychological traits" in flagged.json()["rules"][-1]["reason"]
    body["purpose"]["psychological_traits"] = "perhaps"
    refused = client.post("/api/v1/consent/evaluate", body, content_type="application/json")
    assert refused.status_code == 400


def test_the_openapi_schema_documents_each_sensitive_flag(client):
    schema = client.get("/api/schema/?format=json").json()
    text = str(schema)
    for name in matching.SENSITIVE_FLAGS:
        assert name in text, name
