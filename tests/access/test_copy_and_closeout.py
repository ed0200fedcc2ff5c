"""After a project (issue 14, parts 4 and 5): "Copy as new request" starts a fresh draft from a
finished request, pre-filled; the applicant files a close-out at the end of a project, the
committees read it, and a committee may require it before it accepts a new request from the
same applicant. Each step in the service, the REST API and the portal, with its ledger event."""

from __future__ import annotations

import pytest
from django.urls import reverse

from access.choices import RequestStatus
from access.lifecycle import TransitionRefused, copy_refusal
from access.models import AccessRequest
from access.services import decisions as decision_services
from access.services import requests as request_services
from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Forbidden
from governance import services as gov
from tests.access_world import api, approve_part

from .test_portal import client_for, flashes, text_of

pytestmark = pytest.mark.django_db


def events(event_type, access_request) -> list[AuditEvent]:
    ledger.flush()
    return list(
        AuditEvent.objects.filter(
            event_type=event_type,
            target_type="access.accessrequest",
            target_id=str(access_request.pk),
        ).order_by("seq")
    )


def decide_all(access_request, chair, other_chair, dataset, other_dataset):
    """`dataset`'s committee approves its part, the other committee rejects its own."""
    approve_part(access_request, dataset, chair)
    decision_services.decision_record(
        review=access_request.reviews.get(committee=other_dataset.committee),
        actor=other_chair,
        outcome="reject",
        reason="Out of scope.",
    )
    return access_request


@pytest.fixture
def decided(submitted, chair, other_chair, dataset, other_dataset):
    return decide_all(submitted, chair, other_chair, dataset, other_dataset)


@pytest.fixture
def withdrawn(submitted, researcher):
    return request_services.request_withdraw(access_request=submitted, actor=researcher)


# --- part 4: copy as new -------------------------------------------------------------------------
def test_only_a_finished_request_may_be_copied():
    assert copy_refusal("draft", []) is not None
    assert copy_refusal("withdrawn", ["approved"]) is None
    assert copy_refusal("closed", []) is None
    assert copy_refusal("submitted", ["approved", "rejected"]) is None
    assert copy_refusal("submitted", ["approved", "closed"]) is None
    assert "under review" in copy_refusal("submitted", ["approved", "under_review"])
    assert copy_refusal("submitted", ["returned"]) is not None


def test_copy_of_a_withdrawn_request_is_a_prefilled_draft_without_team_or_document(
    withdrawn, researcher, dataset, other_dataset
):
    copy = request_services.request_copy(access_request=withdrawn, actor=researcher)
    assert copy.pk != withdrawn.pk
    assert copy.status == RequestStatus.DRAFT
    assert copy.applicant == researcher
    assert copy.copied_from == withdrawn
    for field in ("title", "lay_summary", "scientific_abstract", "institution", "ethics_reference"):
        assert getattr(copy, field) == getattr(withdrawn, field)
    assert copy.methods_development and copy.ethics_expiry == withdrawn.ethics_expiry
    assert not copy.ethics_document
    assert set(copy.datasets.all()) == {dataset, other_dataset}
    assert [d.curie for d in copy.diseases.all()] == ["DOID:1324"]
    assert not copy.team_members.exists()
    assert copy.team_not_copied == 1
    assert copy.not_copied == ["ethics_document"]
    assert copy.datasets_skipped == []
    (event,) = events(EventType.REQUEST_COPIED, copy)
    assert event.payload == {
        "source": withdrawn.pk,
        "datasets_skipped": [],
        "not_copied": ["ethics_document"],
    }
    assert events(EventType.REQUEST_CREATED, copy)


def test_copy_of_a_decided_request(decided, researcher):
    copy = request_services.request_copy(access_request=decided, actor=researcher)
    assert copy.status == RequestStatus.DRAFT and copy.copied_from == decided


def test_retired_datasets_are_left_out_and_named(withdrawn, researcher, dataset, other_dataset):
    gov.dataset_retire(dataset=other_dataset, actor=None, reason="Consent withdrawn.")
    copy = request_services.request_copy(access_request=withdrawn, actor=researcher)
    assert list(copy.datasets.all()) == [dataset]
    assert copy.datasets_skipped == [other_dataset.accession]
    (event,) = events(EventType.REQUEST_COPIED, copy)
    assert event.payload["datasets_skipped"] == [other_dataset.accession]


def test_an_answer_a_rule_now_refuses_is_left_out(withdrawn, researcher):
    AccessRequest.objects.filter(pk=withdrawn.pk).update(country="UK")  # stored before the check
    copy = request_services.request_copy(access_request=withdrawn, actor=researcher)
    assert copy.country == ""
    assert copy.not_copied == ["ethics_document", "country"]


def test_a_draft_or_a_request_under_review_is_not_copied(draft, submitted, researcher):
    with pytest.raises(TransitionRefused, match="under review"):
        request_services.request_copy(access_request=submitted, actor=researcher)
    other = AccessRequest.objects.create(applicant=researcher, title="A draft")
    with pytest.raises(TransitionRefused, match="draft"):
        request_services.request_copy(access_request=other, actor=researcher)
    assert not AccessRequest.objects.filter(copied_from__isnull=False).exists()


def test_only_the_applicant_copies(withdrawn, teammate):
    with pytest.raises(Forbidden):
        request_services.request_copy(access_request=withdrawn, actor=teammate)


def test_api_copy_answers_201_with_the_new_draft_and_what_was_left_out(withdrawn, researcher):
    response = api(researcher).post(f"/api/v1/access-requests/{withdrawn.pk}/copy/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["copied_from"] == withdrawn.pk
    assert body["id"] != withdrawn.pk
    assert body["not_copied"] == ["ethics_document"]
    assert body["team_not_copied"] == 1
    assert body["datasets_skipped"] == []
    assert body["team_members"] == []
    assert body["has_ethics_document"] is False
    # The copy's own representation names its source too.
    again = api(researcher).get(f"/api/v1/access-requests/{body['id']}/")
    assert again.json()["copied_from"] == withdrawn.pk


def test_api_copy_refused_while_under_review_with_409(submitted, researcher):
    response = api(researcher).post(f"/api/v1/access-requests/{submitted.pk}/copy/")
    assert response.status_code == 409
    assert "under review" in response.content.decode()


def test_api_copy_by_a_team_member_or_an_outsider_is_404(withdrawn, teammate, outsider):
    for person in (teammate, outsider):
        response = api(person).post(f"/api/v1/access-requests/{withdrawn.pk}/copy/")
        assert response.status_code == 404
    assert not AccessRequest.objects.filter(copied_from=withdrawn).exists()


def test_portal_copy_opens_the_new_draft_and_says_what_was_not_copied(
    decided, researcher, other_dataset
):
    gov.dataset_retire(dataset=other_dataset, actor=None, reason="Consent withdrawn.")
    client = client_for(researcher)
    page = client.get(reverse("access:request-detail", kwargs={"pk": decided.pk}))
    assert "Copy as new request" in text_of(page)
    response = client.post(reverse("access:request-copy", kwargs={"pk": decided.pk}))
    copy = AccessRequest.objects.get(copied_from=decided)
    assert response.status_code == 302
    assert response["Location"] == reverse("access:request-edit", kwargs={"pk": copy.pk})
    said = " ".join(flashes(response))
    assert copy.reference in said
    assert other_dataset.accession in said
    assert "ethics" in said.lower()
    assert "invite its 1 member again" in said
    detail = client.get(reverse("access:request-detail", kwargs={"pk": copy.pk}))
    assert f"copied from {decided.reference}" in text_of(detail)
    assert "started this draft as a copy of an earlier request" in text_of(detail)


def test_portal_offers_no_copy_while_under_review_and_refuses_it(submitted, researcher):
    client = client_for(researcher)
    page = client.get(reverse("access:request-detail", kwargs={"pk": submitted.pk}))
    assert "Copy as new request" not in text_of(page)
    response = client.post(reverse("access:request-copy", kwargs={"pk": submitted.pk}))
    assert response.status_code == 302
    assert "was not copied" in " ".join(flashes(response))
    assert not AccessRequest.objects.filter(copied_from=submitted).exists()


def test_portal_copy_by_a_team_member_is_404_and_get_is_refused(withdrawn, teammate, researcher):
    url = reverse("access:request-copy", kwargs={"pk": withdrawn.pk})
    assert client_for(teammate).post(url).status_code == 404
    assert client_for(researcher).get(url).status_code == 405
    page = client_for(teammate).get(reverse("access:request-detail", kwargs={"pk": withdrawn.pk}))
    assert "Copy as new request" not in text_of(page)
