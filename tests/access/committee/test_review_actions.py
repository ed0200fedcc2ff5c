"""The steps on the committee's review page (access/committee/views.py): each form posts to its own
admin URL, which calls one service; a refusal is an error on the page, never a 500. Every request
goes through the Django test client as the persona would send it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access import selectors
from access.choices import CommentVisibility, ReviewStatus
from access.models import Comment, Decision, Grant, Vote
from access.services import decisions as decision_services
from audit.choices import EventType
from audit.models import AuditEvent
from tests import factories

from ..admin_support import approve_data, messages_of, page, set_policy, url

pytestmark = pytest.mark.django_db


def test_start_review_from_the_admin(client, member, review):
    client.force_login(member)
    response = client.post(url("start", review))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.UNDER_REVIEW
    # The ledger stores payloads as canonical JSON text (no JSON lookups): read them back.
    assert any(
        e.payload.get("action") == "review_start"
        for e in AuditEvent.objects.filter(
            event_type=EventType.ADMIN_ACTION, target_id=str(review.pk)
        )
    )


def test_chair_approves_from_the_admin_and_the_grants_appear(
    client, chair, review, dataset, researcher, teammate
):
    client.force_login(chair)
    latest = decision_services.latest_end_date(review.request)
    form_page = client.get(page(review))
    assert f'value="{latest.isoformat()}"' in form_page.text  # the end date is prefilled

    response = client.post(url("decide", review), approve_data(dataset), follow=True)
    assert response.status_code == 200
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED
    grants = Grant.objects.filter(decision__review=review)
    assert {(g.user, g.dataset) for g in grants} == {(researcher, dataset), (teammate, dataset)}
    assert grants.first().conditions == "Cite the dataset."
    assert "Approved; the grants are listed below." in messages_of(response)
    assert researcher.username in response.text and "Active." in response.text
    events = AuditEvent.objects.filter(target_type="access.review", target_id=str(review.pk))
    assert events.filter(event_type=EventType.DECISION_RECORDED).exists()
    assert any(
        e.payload.get("outcome") == "approve"
        for e in events.filter(event_type=EventType.ADMIN_ACTION)
    )


def test_an_end_date_beyond_the_requested_duration_is_refused_on_the_page(
    client, chair, review, dataset
):
    client.force_login(chair)
    too_late = decision_services.latest_end_date(review.request) + timedelta(days=1)
    response = client.post(url("decide", review), approve_data(dataset, end=too_late))
    assert response.status_code == 200
    assert "may not be later than the requested duration" in response.text
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    assert not Grant.objects.exists()


def test_members_decision_under_chair_decides_is_refused_with_the_reason_shown(
    client, chair, member, review, dataset
):
    client.force_login(member)
    before = client.get(page(review)).text
    # One sentence says who can; no decision form, no disabled button, no repeated refusal.
    assert before.count(f"Only the chair, {chair.username}, can decide this review.") == 1
    assert 'id="id_approve-end_date"' not in before and " disabled" not in before
    assert "policy is that the chair decides" not in before

    response = client.post(url("decide", review), approve_data(dataset))
    assert response.status_code == 200
    assert any("policy is that the chair decides" in m for m in messages_of(response))
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    assert not Decision.objects.filter(review=review).exists()


def test_majority_with_quorum_refuses_until_the_quorum_then_allows(
    client, chair, member, committee, review, dataset
):
    set_policy(committee, "majority", quorum=2)
    client.force_login(chair)
    vote = {"vote-choice": "approve", "vote-rationale": "Fits the consent."}
    assert client.post(url("vote", review), vote).status_code == 302
    shown = client.get(page(review)).text
    assert "Quorum 2: 1 vote cast" in shown
    assert "The quorum is 2 votes; 1 cast so far." in shown

    refused = client.post(url("decide", review), approve_data(dataset))
    assert refused.status_code == 200
    assert any("The quorum is 2 votes; 1 cast so far." in m for m in messages_of(refused))
    assert not Decision.objects.filter(review=review).exists()

    client.force_login(member)
    assert client.post(url("vote", review), vote).status_code == 302
    assert Vote.objects.filter(review=review, round=1).count() == 2

    client.force_login(chair)
    shown = client.get(page(review)).text
    assert "Quorum 2: 2 votes cast" in shown
    assert client.post(url("decide", review), approve_data(dataset)).status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED


def test_a_secretary_cannot_vote(client, committee, review):
    secretary = factories.committee_staff("secretary", committee, "secretary")
    client.force_login(secretary)
    assert "Cast vote" not in client.get(page(review)).text
    response = client.post(url("vote", review), {"vote-choice": "approve", "vote-rationale": "x"})
    assert response.status_code == 200
    assert any("secretary records decisions" in m for m in messages_of(response))
    assert not Vote.objects.exists()


def decide(client, review, outcome, field, value):
    """Post the decide form: `outcome` with its one text field (`return-questions`,
    `reject-reason`) set to `value`; refresh the review."""
    response = client.post(url("decide", review), {"outcome": outcome, f"{outcome}-{field}": value})
    review.refresh_from_db()
    return response


def assert_refused(response, review, message):
    """The form came back saying `message`, and the review is still submitted."""
    assert response.status_code == 200
    assert message in response.text
    assert review.status == ReviewStatus.SUBMITTED


def test_return_requires_questions(client, chair, review):
    client.force_login(chair)
    refused = decide(client, review, "return", "questions", " ")
    assert_refused(refused, review, "Returning a request needs the committee&#x27;s questions.")

    question = "Which cohort will you use?"
    assert decide(client, review, "return", "questions", question).status_code == 302
    assert review.status == ReviewStatus.RETURNED
    # the applicant sees the questions
    public = selectors.comments_for_applicant(review.request)
    assert [c.body for c in public] == [question]


def test_reject_requires_a_reason(client, chair, review):
    client.force_login(chair)
    assert_refused(
        decide(client, review, "reject", "reason", ""), review, "A rejection needs a reason."
    )
    assert decide(client, review, "reject", "reason", "Outside the consent.").status_code == 302
    assert review.status == ReviewStatus.REJECTED
    assert Decision.objects.get(review=review).reason == "Outside the consent."


def test_a_refused_service_call_is_an_error_message_not_a_500(client, chair, approved):
    client.force_login(chair)
    again = {"outcome": "reject", "reject-reason": "Changed our mind."}
    response = client.post(url("decide", approved), again)
    assert response.status_code == 200
    assert any("no decision can be taken on it now" in m for m in messages_of(response))
    assert Decision.objects.filter(review=approved).count() == 1


def test_revoke_from_the_review_page(client, chair, approved, researcher):
    grant = Grant.objects.get(decision__review=approved, user=researcher)
    field = f"revoke-{grant.pk}-reason"
    client.force_login(chair)
    refused = client.post(url("revoke", approved, grant.pk), {field: ""})
    assert refused.status_code == 200
    assert "Say why the grant is revoked." in refused.text
    grant.refresh_from_db()
    assert grant.revoked_at is None

    done = client.post(url("revoke", approved, grant.pk), {field: "Breach of the agreement."})
    assert done.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert (grant.revoked_by, grant.revoked_reason) == (chair, "Breach of the agreement.")
    assert AuditEvent.objects.filter(
        event_type=EventType.GRANT_REVOKED, target_id=str(grant.pk)
    ).exists()


def test_a_member_may_not_revoke_under_chair_decides(client, chair, member, approved):
    grant = Grant.objects.filter(decision__review=approved).first()
    client.force_login(member)
    response = client.post(
        url("revoke", approved, grant.pk), {f"revoke-{grant.pk}-reason": "Because."}
    )
    assert response.status_code == 200
    assert any("Only the chair or the secretary" in m for m in messages_of(response))
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_close_from_the_admin(client, chair, member, review):
    client.force_login(member)
    assert "Close review" not in client.get(page(review)).text
    refused = client.post(url("close", review), {"close-reason": "Duplicate request."})
    assert refused.status_code == 200
    assert any("Only the chair or the secretary may close" in m for m in messages_of(refused))

    client.force_login(chair)
    assert url("close", review) in client.get(page(review)).text  # a link to the confirmation
    assert (
        client.post(url("close", review), {"close-reason": "Duplicate request."}).status_code == 302
    )
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED
    assert client.get(page(review)).status_code == 200  # a closed review stays readable


def test_internal_comment_stays_out_of_the_applicants_timeline(client, member, review, other_chair):
    client.force_login(member)
    internal = {"comment-body": "Check their ethics scope.", "comment-visibility": "internal"}
    public = {"comment-body": "Please name the cohort.", "comment-visibility": "public"}
    assert client.post(url("comment", review), internal).status_code == 302
    assert client.post(url("comment", review), public).status_code == 302

    comments = {c.visibility: c for c in Comment.objects.filter(request=review.request)}
    assert comments[CommentVisibility.INTERNAL].committee == review.committee
    timeline = selectors.timeline_for_applicant(review.request)
    shown = [e.payload["comment"] for e in timeline if e.event_type == EventType.COMMENT_ADDED]
    assert shown == [comments[CommentVisibility.PUBLIC].pk]
    # nor is it on the other committee's page for the same request
    client.force_login(other_chair)
    other_page = client.get(page(review.request.reviews.exclude(pk=review.pk).get())).text
    assert "Check their ethics scope." not in other_page
    assert "Please name the cohort." in other_page


def test_an_empty_comment_is_refused(client, member, review):
    client.force_login(member)
    response = client.post(url("comment", review), {"comment-visibility": "internal"})
    assert response.status_code == 200
    assert "Write a comment." in response.text
    assert not Comment.objects.exists()
