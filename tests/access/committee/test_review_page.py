"""The committee's review page (access/committee/, in the admin): what it shows of the request
and which forms it offers. Every request goes through the Django test client as the persona would
send it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from audit.choices import EventType
from audit.models import AuditEvent
from tests import factories
from tests.access_world import submit_request

from ..admin_support import page, url

pytestmark = pytest.mark.django_db


def test_review_page_shows_the_applicants_answers(client, chair, review, teammate, dataset):
    client.force_login(chair)
    response = client.get(page(review))
    assert response.status_code == 200
    text = response.text
    request = review.request
    for expected in [
        request.title,
        request.lay_summary,
        request.scientific_abstract,
        request.institution,
        request.ethics_reference,
        teammate.username,
        dataset.accession,
        "DOID:1324",
        f"{request.requested_months} months",
        "Data access agreement v1",
    ]:
        assert escape(expected) in text, expected
    assert reverse("access:ethics-document", kwargs={"pk": request.pk}) in text
    # The teammate has not accepted the agreement yet: the page says so before anyone approves.
    assert "Not yet accepted" in text


def test_the_ethics_document_link_works_for_the_committee_and_is_ledgered(client, chair, review):
    client.force_login(chair)
    link = reverse("access:ethics-document", kwargs={"pk": review.request_id})
    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(
        event_type=EventType.ATTACHMENT_VIEWED, target_id=str(review.request_id)
    ).exists()


def test_every_form_control_has_a_label_and_every_button_a_name(client, chair, approved):
    client.force_login(chair)
    # a fresh, undecided review offers every decision: approve on the page, reject and return
    # (and close, and revoke) through their confirmation pages
    text = client.get(page(approved)).text
    assert ">Revoke…</a>" in text
    other = submit_request(factories.user("labels"), [approved.request.datasets.first()])
    review = other.reviews.get()
    text = client.get(page(review)).text
    for button in [">Start review<", ">Add comment<", ">Cast vote<", ">Approve<", ">Reject…<"]:
        assert button in text, button
    assert ">Return for changes…<" in text
    assert ">Close review…<" in text
    for field_id in [
        "id_comment-body",
        "id_vote-rationale",
        "id_approve-end_date",
        "id_approve-conditions",
    ]:
        assert f'for="{field_id}"' in text, field_id
    confirmations = [
        (url("decide", review) + "?outcome=reject", "id_reject-reason"),
        (url("decide", review) + "?outcome=return", "id_return-questions"),
        (url("close", review), "id_close-reason"),
    ]
    for address, field_id in confirmations:
        assert f'for="{field_id}"' in client.get(address).text, field_id
