"""Outside reviewers (issue 14, part 6): a committee member invites an expert by e-mail to give an
opinion on one review. The expert, signed in, sees only that request's answers and attachments,
comments to the committee, never votes or decides, and loses access when the review ends; they
get 404 everywhere else."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from access.choices import CommentVisibility
from access.models import Comment, Notification, OutsideReviewer
from access.services import experts as expert_services
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Conflict, Forbidden, Invalid, NotFound
from tests import factories

from .admin_support import approve_data, url

pytestmark = pytest.mark.django_db

ADDRESS = "pathologist@example.org"


@pytest.fixture
def expert_user(db):
    return factories.user("expert")


def invite(review, member, address=ADDRESS):
    return expert_services.expert_invite(review=review, actor=member, email=address)


def link_path(expert: OutsideReviewer) -> str:
    mail = Notification.objects.get(address=expert.email, kind="expert_invitation")
    return re.search(r"https?://[^/\s]+(/expert/invitations/[^\s/]+/)", mail.body).group(1)


@pytest.fixture
def joined(review, member, expert_user, client):
    expert = invite(review, member)
    client.force_login(expert_user)
    response = client.post(link_path(expert))
    assert response.status_code == 302
    expert.refresh_from_db()
    return expert


def test_a_member_invites_an_expert_who_accepts_by_the_mailed_link(
    client, review, member, expert_user
):
    expert = invite(review, member)
    assert expert.state == "invited"
    assert AuditEvent.objects.filter(event_type=EventType.EXPERT_INVITED).count() == 1
    assert ADDRESS not in str(AuditEvent.objects.get(event_type=EventType.EXPERT_INVITED).payload)
    path = link_path(expert)
    client.force_login(expert_user)
    page = client.get(path)
    assert page.status_code == 200
    assert "Your expert opinion is asked for" in page.text
    accepted = client.post(path)
    expert.refresh_from_db()
    assert accepted["Location"] == reverse("access:expert-review", args=[expert.pk])
    assert (expert.user, expert.state) == (expert_user, "accepted")
    assert AuditEvent.objects.filter(event_type=EventType.EXPERT_JOINED).count() == 1
    assert client.post(path).status_code == 404  # the link works once


def test_the_expert_reads_the_answers_and_the_attachment_and_writes_to_the_committee(
    client, joined, expert_user, review, member
):
    page = client.get(reverse("access:expert-review", args=[joined.pk]))
    assert page.status_code == 200
    assert review.request.lay_summary in page.text
    document = client.get(reverse("access:ethics-document", args=[review.request_id]))
    assert document.status_code == 200
    sent = client.post(
        reverse("access:expert-review", args=[joined.pk]),
        {"body": "The sample size is adequate; the TIL scoring protocol is standard."},
    )
    assert sent.status_code == 302
    comment = Comment.objects.get(author=expert_user)
    assert (comment.committee, comment.visibility) == (review.committee, CommentVisibility.INTERNAL)
    # The committee reads it on its review page; the applicant does not.
    client.force_login(member)
    assert "the TIL scoring protocol is standard" in client.get(url("change", review)).text
    client.force_login(review.request.applicant)
    detail = client.get(reverse("access:request-detail", args=[review.request_id]))
    assert "the TIL scoring protocol is standard" not in detail.text


def test_the_expert_gets_404_everywhere_else(client, joined, review, other_review, dataset):
    for path in (
        url("change", review),  # the committee's review page
        url("change", other_review),
        reverse("access:request-detail", args=[review.request_id]),
        reverse("admin:access_grant_changelist"),
    ):
        assert client.get(path).status_code in (302, 404), path
    api = APIClient()
    api.force_authenticate(joined.user)
    assert api.get(f"/api/v1/access-requests/{review.request_id}/").status_code == 404
    assert (
        api.post(f"/api/v1/reviews/{review.pk}/experts/", {"email": "x@example.org"}).status_code
        == 404
    )
    assert (
        api.post(
            f"/api/v1/access-requests/{review.request_id}/vote/",
            {"choice": "approve", "rationale": "Fine."},
        ).status_code
        == 404
    )


def test_access_ends_with_the_review(client, joined, review, chair, dataset, expert_user):
    client.force_login(chair)
    assert client.post(url("decide", review), approve_data(dataset)).status_code == 302
    client.force_login(expert_user)
    assert client.get(reverse("access:expert-review", args=[joined.pk])).status_code == 404
    assert (
        client.get(reverse("access:ethics-document", args=[review.request_id])).status_code == 404
    )
    with pytest.raises(NotFound):
        expert_services.expert_comment(expert=joined, actor=expert_user, body="Late.")


def test_a_member_ends_an_experts_access(client, joined, review, member, expert_user):
    client.force_login(member)
    response = client.post(url("expert_end", review, joined.pk))
    assert response.status_code == 302
    joined.refresh_from_db()
    assert joined.state == "ended" and joined.ended_by == member
    assert AuditEvent.objects.filter(event_type=EventType.EXPERT_ENDED).count() == 1
    client.force_login(expert_user)
    assert client.get(reverse("access:expert-review", args=[joined.pk])).status_code == 404


def test_the_workspace_invites_with_the_address_checked(client, review, member):
    client.force_login(member)
    page = client.get(url("change", review)).text
    assert "Invite an outside expert" in page
    bad = client.post(url("expert_invite", review), {"expert-email": "not an address"})
    assert bad.status_code == 200
    assert not OutsideReviewer.objects.exists()
    done = client.post(url("expert_invite", review), {"expert-email": ADDRESS})
    assert done.status_code == 302
    assert OutsideReviewer.objects.get().email == ADDRESS


def test_refusals(review, member, other_chair, researcher, expert_user, client):
    with pytest.raises(Forbidden):
        invite(review, other_chair)  # not on this committee
    with pytest.raises(Invalid):
        invite(review, member, researcher.email)  # the applicant's own address
    invite(review, member)
    with pytest.raises(Conflict):
        invite(review, member)  # the same address twice
    expert = OutsideReviewer.objects.get()
    with pytest.raises(Forbidden):
        expert_services.expert_accept(token=expert_services.expert_token(expert), actor=researcher)
    with pytest.raises(Conflict):
        expert_services.expert_accept(token=expert_services.expert_token(expert), actor=member)
    with pytest.raises(NotFound):
        expert_services.expert_accept(token="forged", actor=expert_user)


def test_the_api_invites_and_ends(review, member):
    api = APIClient()
    api.force_authenticate(member)
    made = api.post(f"/api/v1/reviews/{review.pk}/experts/", {"email": ADDRESS})
    assert made.status_code == 201, made.content
    assert made.json()["state"] == "invited"
    assert api.post(f"/api/v1/reviews/{review.pk}/experts/", {"email": "nope"}).status_code == 400
    ended = api.post(f"/api/v1/reviews/{review.pk}/experts/{made.json()['id']}/end/")
    assert ended.status_code == 200 and ended.json()["state"] == "ended"
    again = api.post(f"/api/v1/reviews/{review.pk}/experts/{made.json()['id']}/end/")
    assert again.status_code == 409
    assert api.post(f"/api/v1/reviews/{review.pk}/experts/999999/end/").status_code == 404
