"""Consent matches are stored on submit and drive the committees' optional automatic decisions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access.choices import ReviewStatus
from access.models import ConsentMatch, Grant
from audit.models import AuditEvent
from governance import services as gov
from tests import factories
from tests.access_world import submit_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def lung_cancer_dataset(committee, organisation):
    scope = factories.consent_scope("DS", diseases=["DOID:1324"], modifiers=["NCU"])
    return factories.dataset(committee=committee, controller=organisation, consent_scope=scope)


@pytest.fixture
def heart_dataset(committee, organisation):
    scope = factories.consent_scope("DS", diseases=["DOID:114"])
    return factories.dataset(committee=committee, controller=organisation, consent_scope=scope)


def review_under(policy, committee, researcher, datasets, **data):
    """The committee turns on an automatic `policy` (auto_reject_denied, auto_approve_matching);
    then the researcher submits a request for `datasets`, whose one review is returned."""
    setattr(committee, policy, True)
    gov.committee_update(committee=committee, actor=None)
    return submit_request(researcher, datasets, **data).reviews.get()


def test_each_requested_dataset_gets_a_stored_match_with_versions(
    researcher, lung_cancer_dataset, heart_dataset, agreement
):
    submitted = submit_request(researcher, [lung_cancer_dataset, heart_dataset])
    matches = {m.dataset: m for m in ConsentMatch.objects.filter(request=submitted)}
    assert (
        matches[lung_cancer_dataset].decision == "approve"
    )  # lung cancer purpose, lung cancer consent
    assert matches[heart_dataset].decision == "deny"
    assert any(r["term"] == "DUO:0000007" for r in matches[heart_dataset].rules)
    assert (
        matches[heart_dataset].engine_version and "DOID" in matches[heart_dataset].ontology_version
    )
    assert AuditEvent.objects.filter(event_type="access.consent_matched").count() == 2


def test_commercial_purpose_is_denied_by_ncu(researcher, lung_cancer_dataset, agreement):
    submitted = submit_request(researcher, [lung_cancer_dataset], commercial=True)
    match = ConsentMatch.objects.get(request=submitted)
    assert match.decision == "deny"
    assert any(r["term"] == "DUO:0000046" and r["outcome"] == "deny" for r in match.rules)


def test_automatic_policies_are_off_by_default(researcher, heart_dataset, agreement):
    submitted = submit_request(researcher, [heart_dataset])
    assert submitted.reviews.get().status == ReviewStatus.SUBMITTED


def test_committee_may_auto_reject_denied_matches_as_the_system(
    researcher, committee, heart_dataset, agreement
):
    review = review_under("auto_reject_denied", committee, researcher, [heart_dataset])
    assert review.status == ReviewStatus.REJECTED
    decision = review.decisions.get()
    assert decision.decided_by is None and "consent" in decision.reason
    event = AuditEvent.objects.filter(event_type="access.decision_recorded").latest("seq")
    assert event.actor_kind == "system" and event.payload["automatic"] is True


def test_committee_may_auto_approve_when_every_verdict_approves(
    researcher, committee, lung_cancer_dataset, agreement
):
    review = review_under("auto_approve_matching", committee, researcher, [lung_cancer_dataset])
    assert review.status == ReviewStatus.APPROVED
    grant = Grant.objects.get(user=researcher)
    assert grant.valid_until.date() <= timezone.localdate() + timedelta(days=12 * 31 + 1)
    # the consent's obligations travel onto the grant
    assert grant.obligations == ConsentMatch.objects.get(request=review.request).obligations


def test_auto_approve_does_not_fire_when_a_person_must_look(
    researcher, committee, lung_cancer_dataset, agreement
):
    review = review_under(
        "auto_approve_matching",
        committee,
        researcher,
        [lung_cancer_dataset],
        other_purpose="Also train a foundation model.",
    )
    assert ConsentMatch.objects.get(request=review.request).decision == "review"
    assert review.status == ReviewStatus.SUBMITTED
