"""Leaving a team needs no review (issue 14, part 2): the applicant takes a member off the team,
or a member leaves, at any time; after an approval that person's grants of the request are
revoked at once (reason recorded, ledger, revocation feed, tokens inactive), and the rest of the
team keeps its access."""

# ruff: noqa: F401, F811  (token fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from access.choices import NotificationKind, RequestStatus
from access.models import Grant, Notification
from access.services import requests as request_services
from access.services import team as team_services
from audit import ledger
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Conflict, NotFound
from tests import factories
from tests.access_world import accept_all, api, approve_part, make_draft
from tests.tokens.token_support import feed, introspect, storage, token_keys
from tokens.issue import token_issue

from .test_portal import client_for, flashes, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(db):
    return factories.user("colleague", first_name="Noor", last_name="Visser")


@pytest.fixture
def project(researcher, teammate, colleague, dataset, agreement, chair):
    """An approved request of the researcher's, with the teammate and a colleague on its team;
    everyone accepted the agreement, so everyone holds an active grant."""
    access_request = make_draft(researcher, [dataset], team=[teammate, colleague])
    for person in (researcher, teammate, colleague):
        accept_all(access_request, person)
    request_services.request_submit(access_request=access_request, actor=researcher)
    approve_part(access_request, dataset, chair)
    assert all(g.is_active for g in Grant.objects.filter(request=access_request))
    assert Grant.objects.filter(request=access_request).count() == 3
    return access_request


def grants_of(access_request, user):
    return list(Grant.objects.filter(request=access_request, user=user))


def events(event_type, access_request) -> list[AuditEvent]:
    ledger.flush()
    return list(
        AuditEvent.objects.filter(event_type=event_type, target_id=str(access_request.pk)).order_by(
            "seq"
        )
    )


def base(access_request) -> str:
    return f"/api/v1/access-requests/{access_request.pk}"


def told(user, access_request) -> list[Notification]:
    return list(
        Notification.objects.filter(
            recipient=user,
            kind=NotificationKind.TEAM_LEFT,
            dedupe_key__contains=f":{access_request.pk}:",
        )
    )


# --- removal by the applicant -----------------------------------------------------------------
def test_removing_a_member_after_approval_revokes_their_grants_only(
    project, researcher, teammate, colleague
):
    team_services.team_member_remove(
        access_request=project, actor=researcher, user=teammate, reason="Moved to another lab."
    )
    assert not project.team_members.filter(pk=teammate.pk).exists()
    (gone,) = grants_of(project, teammate)
    assert gone.revoked_at is not None and not gone.is_active
    assert gone.revoked_by == researcher
    assert gone.revoked_reason == (
        f"Removed from the team of request {project.reference} by the applicant: "
        "Moved to another lab."
    )
    assert all(g.is_active for p in (researcher, colleague) for g in grants_of(project, p))

    (event,) = events(EventType.TEAM_MEMBER_REMOVED, project)
    assert event.payload == {
        "member": pseudonym_for(teammate),
        "reason": "Moved to another lab.",
        "grants_ended": [gone.pk],
    }
    ledger.flush()
    revoked = AuditEvent.objects.filter(event_type=EventType.GRANT_REVOKED)
    assert [e.target_id for e in revoked] == [str(gone.pk)]
    # The member and the applicant are told; the member also gets the grant's own notice.
    assert len(told(teammate, project)) == 1
    assert len(told(researcher, project)) == 1
    assert Notification.objects.filter(recipient=teammate, kind=NotificationKind.REVOKED).exists()
    assert not Notification.objects.filter(
        recipient=colleague, kind=NotificationKind.REVOKED
    ).exists()


def test_a_removed_members_tokens_are_inactive_at_once_and_listed_in_the_feed(
    project, researcher, teammate, colleague, storage
):
    _, bearer = storage
    theirs = token_issue(grant=grants_of(project, teammate)[0], actor=teammate)
    kept = token_issue(grant=grants_of(project, colleague)[0], actor=colleague)
    assert introspect(bearer, theirs.token).json()["active"] is True

    response = api(researcher).post(
        f"{base(project)}/members/teammate/remove/", {"reason": "Left the group."}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["team_members"] == ["colleague"]

    assert introspect(bearer, theirs.token).json() == {"active": False}
    assert introspect(bearer, kept.token).json()["active"] is True
    assert [e["jti"] for e in feed(bearer)["revoked"]] == [theirs.jti]


def test_removal_before_approval_stays_a_plain_team_change(
    researcher, teammate, dataset, agreement
):
    draft = make_draft(researcher, [dataset], team=[teammate])
    team_services.team_member_remove(access_request=draft, actor=researcher, user=teammate)
    assert not draft.team_members.exists()
    (event,) = events(EventType.TEAM_MEMBER_REMOVED, draft)
    assert event.payload == {"member": pseudonym_for(teammate)}
    assert not told(teammate, draft)


def test_a_member_removed_under_review_gets_no_grant_from_the_later_approval(
    researcher, teammate, dataset, agreement, chair
):
    draft = make_draft(researcher, [dataset], team=[teammate])
    for person in (researcher, teammate):
        accept_all(draft, person)
    request_services.request_submit(access_request=draft, actor=researcher)
    team_services.team_member_remove(access_request=draft, actor=researcher, user=teammate)
    approve_part(draft, dataset, chair)
    assert set(Grant.objects.filter(request=draft).values_list("user_id", flat=True)) == {
        researcher.pk
    }


# --- leaving ----------------------------------------------------------------------------------
def test_a_member_leaves_through_the_api(project, researcher, teammate, colleague):
    response = api(teammate).post(f"{base(project)}/leave/", {"reason": "Project over for me."})
    assert response.status_code == 204, response.content
    assert not project.team_members.filter(pk=teammate.pk).exists()
    (gone,) = grants_of(project, teammate)
    assert not gone.is_active
    assert gone.revoked_by == teammate
    assert gone.revoked_reason == (
        f"Left the team of request {project.reference}: Project over for me."
    )
    assert all(g.is_active for p in (researcher, colleague) for g in grants_of(project, p))
    (event,) = events(EventType.TEAM_MEMBER_LEFT, project)
    assert event.payload["member"] == pseudonym_for(teammate)
    assert event.payload["grants_ended"] == [gone.pk]
    (to_applicant,) = told(researcher, project)
    assert "left the team" in to_applicant.subject
    assert "Project over for me." in to_applicant.body
    # Off the team, the request is no longer theirs to see.
    assert api(teammate).get(f"{base(project)}/").status_code == 404


def test_leaving_without_a_reason_records_the_plain_reason(project, teammate):
    response = client_for(teammate).post(reverse("access:request-leave", args=[project.pk]))
    assert response.status_code == 302
    (gone,) = grants_of(project, teammate)
    assert gone.revoked_reason == f"Left the team of request {project.reference}"


def test_a_member_leaves_through_the_portal(project, researcher, teammate):
    member = client_for(teammate)
    page = member.get(reverse("access:request-detail", args=[project.pk]))
    assert "Leave this project" in text_of(page)
    url = reverse("access:request-leave", args=[project.pk])
    confirm = member.get(url)
    assert confirm.status_code == 200
    words = text_of(confirm)
    assert "Leave the team of" in words and "Reason (optional)" in words
    assert "csrfmiddlewaretoken" in confirm.content.decode()

    response = member.post(url, {"reason": "Changed jobs."}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("access:request-list")
    assert any("Your access from it was revoked" in m for m in flashes(response))
    assert not grants_of(project, teammate)[0].is_active
    assert member.get(reverse("access:request-detail", args=[project.pk])).status_code == 404
    history = text_of(
        client_for(researcher).get(reverse("access:request-detail", args=[project.pk]))
    )
    assert "A member left the team; their access ended. Reason: Changed jobs." in history


def test_the_portal_refuses_a_post_without_the_csrf_token(project, teammate):
    member = Client(enforce_csrf_checks=True)
    member.force_login(teammate)
    response = member.post(reverse("access:request-leave", args=[project.pk]))
    assert response.status_code == 403
    assert project.team_members.filter(pk=teammate.pk).exists()


def test_the_applicant_removes_a_member_through_the_portal(
    project, researcher, teammate, colleague
):
    applicant = client_for(researcher)
    page = text_of(applicant.get(reverse("access:request-detail", args=[project.pk])))
    assert "Remove from team" in page
    url = reverse("access:team-member-remove", kwargs={"pk": project.pk, "user_pk": teammate.pk})
    confirm = applicant.get(url)
    assert confirm.status_code == 200
    assert "Reason (optional)" in text_of(confirm)
    response = applicant.post(url, {"reason": "Finished."}, follow=True)
    assert any("access from this request was revoked" in m for m in flashes(response))
    assert not grants_of(project, teammate)[0].is_active
    assert grants_of(project, colleague)[0].is_active
    assert "You removed a member from the team; their access ended. Reason: Finished." in text_of(
        response
    )


def test_a_member_who_never_accepted_the_agreement_leaves_and_the_waiting_grant_ends(
    researcher, teammate, dataset, agreement, chair
):
    draft = make_draft(researcher, [dataset], team=[teammate])
    accept_all(draft, researcher)
    request_services.request_submit(access_request=draft, actor=researcher)
    approve_part(draft, dataset, chair)
    (waiting,) = grants_of(draft, teammate)
    assert waiting.revoked_at is None and not waiting.is_active  # waits for the agreement
    team_services.team_member_leave(access_request=draft, actor=teammate)
    waiting.refresh_from_db()
    assert waiting.revoked_at is not None
    assert all(g.is_active for g in grants_of(draft, researcher))


# --- refusals ---------------------------------------------------------------------------------
def test_a_stranger_gets_404(project, outsider):
    assert api(outsider).post(f"{base(project)}/leave/").status_code == 404
    assert api(outsider).post(f"{base(project)}/members/teammate/remove/").status_code == 404
    with pytest.raises(NotFound):
        team_services.team_member_leave(access_request=project, actor=outsider)
    stranger = client_for(outsider)
    assert stranger.get(reverse("access:request-leave", args=[project.pk])).status_code == 404
    assert stranger.post(reverse("access:request-leave", args=[project.pk])).status_code == 404


def test_a_committee_member_who_sees_the_request_is_not_on_its_team(project, chair):
    assert api(chair).post(f"{base(project)}/leave/").status_code == 404


def test_the_applicant_cannot_leave_or_remove_themselves(project, researcher):
    response = api(researcher).post(f"{base(project)}/leave/")
    assert response.status_code == 409
    assert "Withdraw the request" in str(response.json())
    response = api(researcher).post(f"{base(project)}/members/researcher/remove/")
    assert response.status_code == 409
    with pytest.raises(Conflict):
        team_services.team_member_leave(access_request=project, actor=researcher)
    assert all(g.is_active for g in grants_of(project, researcher))


def test_a_member_cannot_remove_others(project, teammate, colleague):
    response = api(teammate).post(f"{base(project)}/members/colleague/remove/")
    assert response.status_code == 404
    url = reverse("access:team-member-remove", kwargs={"pk": project.pk, "user_pk": colleague.pk})
    assert client_for(teammate).post(url).status_code == 404
    assert project.team_members.filter(pk=colleague.pk).exists()
    assert grants_of(project, colleague)[0].is_active


def test_removing_someone_not_on_the_team_is_404(project, researcher):
    assert api(researcher).post(f"{base(project)}/members/nobody/remove/").status_code == 404


def test_a_long_reason_is_a_400(project, teammate):
    response = api(teammate).post(f"{base(project)}/leave/", {"reason": "x" * 5000}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    assert project.team_members.filter(pk=teammate.pk).exists()


def test_nobody_leaves_a_withdrawn_request(project, researcher, teammate):
    request_services.request_withdraw(access_request=project, actor=researcher)
    project.refresh_from_db()
    assert project.status == RequestStatus.WITHDRAWN
    response = api(teammate).post(f"{base(project)}/leave/")
    assert response.status_code in (404, 409)


def test_the_former_route_still_removes(project, researcher, teammate):
    response = api(researcher).post(f"{base(project)}/team/teammate/remove/")
    assert response.status_code == 200, response.content
    assert not grants_of(project, teammate)[0].is_active


def test_the_mails_say_whose_access_ended_and_why(project, researcher, teammate, dataset):
    team_services.team_member_remove(
        access_request=project, actor=researcher, user=teammate, reason="Finished."
    )
    (to_member,) = told(teammate, project)
    (to_applicant,) = told(researcher, project)
    assert to_member.subject == f"You were removed from the team of {project.reference}"
    assert f"Your access to {dataset.title} has ended" in to_member.body
    assert "Reason: Finished." in to_member.body
    assert "/access/" in to_member.body  # their link is to My access, not the request
    assert (
        to_applicant.subject
        == f"{project.reference}: team member teammate is no longer on the team"
    )
    assert f"Their access to {dataset.title} has ended" in to_applicant.body
    assert to_member.html_body and "Finished." in to_member.html_body
    assert "Your team member teammate is no longer on the team" in to_applicant.body
