from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from access.choices import RequestStatus, ReviewStatus
from access.lifecycle import TransitionRefused
from access.models import Grant
from access.services import decisions as decision_services
from access.services import requests as request_services
from tests.access_world import accept_all, reply_to_committee

pytestmark = pytest.mark.django_db


def test_submitting_splits_the_request_into_one_review_per_committee(
    submitted, committee, other_committee
):
    assert submitted.status == RequestStatus.SUBMITTED
    assert {r.committee for r in submitted.reviews.all()} == {committee, other_committee}
    assert all(r.status == ReviewStatus.SUBMITTED for r in submitted.reviews.all())


def test_submit_without_accepting_the_agreement_is_refused_naming_it(draft, researcher):
    with pytest.raises(ValidationError) as exc:
        request_services.request_submit(access_request=draft, actor=researcher)
    assert "agreements" in exc.value.message_dict


def test_chair_approves_and_every_person_gets_a_grant_per_dataset(
    submitted, chair, teammate, researcher, dataset
):
    review = submitted.reviews.get(committee=dataset.committee)
    end = timezone.localdate() + timedelta(days=180)
    decision_services.decision_record(review=review, actor=chair, outcome="approve", end_date=end)
    grants = Grant.objects.filter(request=submitted)
    assert {(g.user, g.dataset) for g in grants} == {(researcher, dataset), (teammate, dataset)}
    mine = grants.get(user=researcher)
    assert mine.is_active
    # the teammate has not accepted the agreement yet
    assert grants.get(user=teammate).inactive_reason() == "The access agreement was not accepted."
    accept_all(submitted, teammate)
    assert grants.get(user=teammate).is_active


def test_member_cannot_decide_when_the_chair_decides(submitted, member, dataset):
    review = submitted.reviews.get(committee=dataset.committee)
    with pytest.raises(PermissionDenied, match="chair decides"):
        decision_services.decision_record(
            review=review, actor=member, outcome="reject", reason="no"
        )


def test_return_then_resubmit_then_approve(submitted, other_chair, researcher, other_dataset):
    review = submitted.reviews.get(committee=other_dataset.committee)
    decision_services.decision_record(
        review=review, actor=other_chair, outcome="return", questions="Which cohort?"
    )
    review.refresh_from_db()
    assert review.status == ReviewStatus.RETURNED
    request_services.request_update(
        access_request=submitted, actor=researcher, data={"lay_summary": "Cohort A only."}
    )
    reply_to_committee(submitted, "Cohort A only.")
    request_services.request_resubmit(access_request=submitted, actor=researcher)
    review.refresh_from_db()
    assert (review.status, review.round) == (ReviewStatus.RESUBMITTED, 2)
    decision_services.decision_record(
        review=review,
        actor=other_chair,
        outcome="approve",
        end_date=timezone.localdate() + timedelta(days=30),
    )
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED


def test_a_second_decision_on_a_decided_review_is_refused(submitted, chair, dataset):
    review = submitted.reviews.get(committee=dataset.committee)
    decision_services.decision_record(
        review=review, actor=chair, outcome="reject", reason="Out of scope."
    )
    with pytest.raises(TransitionRefused):
        decision_services.decision_record(
            review=review, actor=chair, outcome="reject", reason="again"
        )


def test_end_date_beyond_the_requested_duration_is_refused(submitted, chair, dataset):
    review = submitted.reviews.get(committee=dataset.committee)
    with pytest.raises(ValidationError) as exc:
        decision_services.decision_record(
            review=review,
            actor=chair,
            outcome="approve",
            end_date=timezone.localdate() + timedelta(days=800),
        )
    assert "end_date" in exc.value.message_dict
