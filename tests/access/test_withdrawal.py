"""Withdrawal ends the project: no grant outlives a withdrawn request (issue 10, hole 4).

Withdrawing a request with an approved part revokes every live grant of the request, for the
applicant and the team ("Request withdrawn by the applicant", revoked by the applicant); their
tokens are refused by introspection at once and listed in the revocation feed, and the
`access.request_withdrawn` event names the grants it ended.
"""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

import pytest
from django.urls import reverse

from access.choices import RequestStatus, ReviewStatus
from access.lifecycle import TransitionRefused
from access.models import Grant, Notification
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import requests as request_services
from audit.choices import EventType
from tests.access_world import accept_all, api
from tests.tokens.token_support import (
    events_of,
    feed,
    grant,
    introspect,
    last_introspection,
    storage,
    token_keys,
)
from tokens.choices import RevocationCause
from tokens.issue import TokenRefused, token_issue
from tokens.models import IssuedToken, TokenRevocation

from .test_portal import client_for, flashes, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_part(grant, submitted, teammate):
    """`dataset` approved (grants for the applicant and the teammate, both with a token);
    the other committee's part is still open."""
    accept_all(submitted, teammate)
    team_grant = Grant.objects.get(request=submitted, user=teammate)
    assert team_grant.is_active
    issued = [
        token_issue(grant=grant, actor=grant.user),
        token_issue(grant=team_grant, actor=teammate),
    ]
    return submitted, [grant, team_grant], issued


def reject_other_part(access_request, other_chair, other_dataset):
    """The other committee rejects its (open) part: every part of the request is decided."""
    decision_services.decision_record(
        review=access_request.reviews.get(committee=other_dataset.committee),
        actor=other_chair,
        outcome="reject",
        reason="Out of scope.",
    )


def test_withdrawing_revokes_every_grant_of_the_request_with_the_reason(
    approved_part, researcher, dataset, other_dataset
):
    access_request, _, _ = approved_part
    response = api(researcher).post(f"/api/v1/access-requests/{access_request.pk}/withdraw/")
    assert response.status_code == 200, response.content
    access_request.refresh_from_db()
    assert access_request.status == RequestStatus.WITHDRAWN
    for ended in Grant.objects.filter(request=access_request):
        assert ended.revoked_at is not None
        assert ended.revoked_reason == "Request withdrawn by the applicant"
        assert ended.revoked_by == researcher
        assert ended.inactive_reason() == "The grant was revoked."
    # The approved part keeps its decision on record; the open part stops.
    assert access_request.reviews.get(committee=dataset.committee).status == ReviewStatus.APPROVED
    assert (
        access_request.reviews.get(committee=other_dataset.committee).status
        == ReviewStatus.WITHDRAWN
    )


def test_their_tokens_are_refused_by_introspection_and_listed_in_the_feed(
    approved_part, researcher, storage
):
    access_request, _, issued = approved_part
    _, bearer = storage
    for token in issued:
        assert introspect(bearer, token.token).json()["active"] is True
    request_services.request_withdraw(access_request=access_request, actor=researcher)
    for token in issued:
        assert introspect(bearer, token.token).json() == {"active": False}
        assert last_introspection().payload["reason"] == "revoked"
    listed = {entry["jti"] for entry in feed(bearer)["revoked"]}
    assert listed == {t.jti for t in issued}
    assert {r.cause for r in TokenRevocation.objects.all()} == {RevocationCause.GRANT_REVOKED}
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()


def test_no_new_token_is_issued_after_withdrawal(approved_part, researcher):
    access_request, grants, _ = approved_part
    request_services.request_withdraw(access_request=access_request, actor=researcher)
    with pytest.raises(TokenRefused, match=r"The grant was revoked\."):
        token_issue(grant=grants[0], actor=researcher)


def test_the_ledger_says_which_grants_the_withdrawal_ended(approved_part, researcher):
    access_request, grants, issued = approved_part
    request_services.request_withdraw(access_request=access_request, actor=researcher)
    (withdrawn,) = events_of(EventType.REQUEST_WITHDRAWN, target_id=str(access_request.pk))
    assert withdrawn.payload == {"grants_ended": sorted(g.pk for g in grants)}
    revoked = events_of(EventType.GRANT_REVOKED)
    assert sorted(int(e.target_id) for e in revoked) == sorted(g.pk for g in grants)
    assert {e.actor_id for e in revoked} == {withdrawn.actor_id}
    swept = events_of(EventType.TOKEN_REVOKED)
    assert sorted(j for e in swept for j in e.payload["jtis"]) == sorted(t.jti for t in issued)
    assert {e.payload["cause"] for e in swept} == {RevocationCause.GRANT_REVOKED}


def test_the_team_is_told_that_their_access_ended(approved_part, researcher, teammate):
    access_request, _, _ = approved_part
    request_services.request_withdraw(access_request=access_request, actor=researcher)
    notice = Notification.objects.get(recipient=teammate, kind="revoked")
    assert "was withdrawn" in notice.body and "has ended" in notice.body


def test_a_request_every_committee_decided_can_still_be_withdrawn_while_access_lasts(
    approved_part, researcher, other_chair, other_dataset
):
    access_request, _, _ = approved_part
    reject_other_part(access_request, other_chair, other_dataset)
    request_services.request_withdraw(access_request=access_request, actor=researcher)
    assert not Grant.objects.filter(request=access_request, revoked_at__isnull=True).exists()


def test_with_no_open_part_and_no_live_grant_there_is_nothing_to_withdraw(
    approved_part, researcher, chair, other_chair, other_dataset
):
    access_request, grants, _ = approved_part
    reject_other_part(access_request, other_chair, other_dataset)
    for live in grants:
        grant_services.grant_revoke(grant=live, actor=chair, reason="Breach.")
    with pytest.raises(TransitionRefused, match="nothing is left to withdraw"):
        request_services.request_withdraw(access_request=access_request, actor=researcher)


def test_grants_already_ended_are_left_as_they_were(approved_part, researcher, chair):
    access_request, grants, _ = approved_part
    grant_services.grant_revoke(grant=grants[1], actor=chair, reason="Left the project.")
    request_services.request_withdraw(access_request=access_request, actor=researcher)
    grants[1].refresh_from_db()
    assert (grants[1].revoked_by, grants[1].revoked_reason) == (chair, "Left the project.")
    (withdrawn,) = events_of(EventType.REQUEST_WITHDRAWN)
    assert withdrawn.payload == {"grants_ended": [grants[0].pk]}


def test_only_the_applicant_withdraws(approved_part, teammate):
    access_request, _, _ = approved_part
    response = api(teammate).post(f"/api/v1/access-requests/{access_request.pk}/withdraw/")
    assert response.status_code == 403
    assert not Grant.objects.filter(request=access_request, revoked_at__isnull=False).exists()


def test_the_portal_confirmation_says_that_access_ends(approved_part, researcher, chair):
    access_request, _, _ = approved_part
    client = client_for(researcher)
    confirm_url = reverse("access:request-withdraw", kwargs={"pk": access_request.pk})
    page = text_of(client.get(confirm_url))
    assert f"the access approved by {chair_committee_name(access_request)} ends at once" in page
    assert "is not affected" not in page
    done = client.post(confirm_url)
    assert any("any access it gave has ended" in m for m in flashes(done))
    timeline = text_of(client.get(access_request.get_absolute_url()))
    assert "withdrew the request. The access it gave ended." in timeline


def test_the_withdraw_button_stays_while_only_access_remains(
    approved_part, researcher, other_chair, other_dataset
):
    access_request, _, _ = approved_part
    reject_other_part(access_request, other_chair, other_dataset)
    page = text_of(client_for(researcher).get(access_request.get_absolute_url()))
    assert "Withdraw request" in page


def chair_committee_name(access_request) -> str:
    return next(r.committee.name for r in request_services.approvals_standing(access_request))
