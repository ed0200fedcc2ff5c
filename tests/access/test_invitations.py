"""Team invitations (issue 12, part 4): the applicant invites an e-mail address; the signed,
single-use, expiring link lets whoever signs in accept or decline; only accepted members are on
the team and get grants; nothing says whether an address has an account."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.choices import InvitationStatus
from access.models import Grant, Notification, TeamInvitation
from access.services import decisions as decision_services
from access.services import requests as request_services
from access.services import team as team_services
from audit import ledger
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Conflict, Forbidden, Invalid, NotFound
from tests import factories
from tests.access_world import accept_all, join_team, make_draft

from .test_portal import client_for, flashes, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def lone_draft(researcher, dataset, agreement):
    """A draft with nobody on its team yet."""
    return make_draft(researcher, [dataset])


@pytest.fixture
def colleague(db):
    return factories.user("colleague", first_name="Noor", last_name="Visser")


def send(access_request, email="Colleague@Example.org"):
    return team_services.invitation_send(
        access_request=access_request, actor=access_request.applicant, email=email
    )


def link_of(invitation) -> str:
    return reverse(
        "access:invitation", kwargs={"token": team_services.invitation_token(invitation)}
    )


def events(event_type, access_request) -> list[AuditEvent]:
    ledger.flush()
    return list(
        AuditEvent.objects.filter(event_type=event_type, target_id=str(access_request.pk)).order_by(
            "seq"
        )
    )


def refused_page(response) -> str:
    assert response.status_code == 404
    return text_of(response)


GENERIC = team_services.LINK_REFUSED


# --- sending ------------------------------------------------------------------------------------
def test_sending_stores_a_pending_invitation_and_mails_the_absolute_link(
    lone_draft, settings, django_capture_on_commit_callbacks
):
    settings.TESSERA_BASE_URL = "https://tessera.example"
    with django_capture_on_commit_callbacks(execute=True):
        invitation = send(lone_draft, "  Colleague@Example.ORG ")
    assert invitation.email == "colleague@example.org"
    assert invitation.status == InvitationStatus.PENDING
    days = (invitation.expires_at - invitation.created).days
    assert days == settings.TESSERA_INVITATION_DAYS == 14
    (message,) = mail.outbox
    assert message.to == ["colleague@example.org"]
    assert lone_draft.title in message.body
    link = re.search(r"https://tessera\.example(/invitations/[^/\s]+/)", message.body).group(1)
    assert team_services.invitation_from_token(link.split("/")[2]) == invitation
    # The outbox row names only the address: no account was looked up.
    notification = Notification.objects.get(dedupe_key=f"invitation:{invitation.pk}")
    assert notification.recipient is None and notification.address == "colleague@example.org"


def test_the_ledger_records_the_invitation_without_the_address_or_token(lone_draft):
    invitation = send(lone_draft)
    (event,) = events(EventType.INVITATION_SENT, lone_draft)
    assert event.payload["invitation"] == invitation.pk
    assert event.payload["address"].startswith("hmac-sha256:")
    text = str(event.payload) + str(AuditEvent.objects.values_list("payload", flat=True))
    assert "colleague@example.org" not in text.lower()
    assert team_services.invitation_token(invitation).split(":")[0] not in text


def test_sending_answers_the_same_for_an_address_with_and_without_an_account(
    researcher, dataset, agreement, colleague
):
    client = client_for(researcher)

    def answer(address):
        # A draft of its own for each address, so that the pages differ only where they name
        # the request and the address.
        access_request = make_draft(researcher, [dataset])
        url = reverse("access:invitation-send", kwargs={"pk": access_request.pk})
        response = client.post(url, {"email": address})

        def same(text):
            # The request's history shows times to the minute: the two answers may fall on
            # either side of a minute's turn.
            return re.sub(
                r"\b\d{1,2}:\d{2}\b",
                "HH:MM",
                text.replace(address, "ADDRESS")
                .replace(access_request.reference, "REF")
                .replace(f"/requests/{access_request.pk}/", "/requests/PK/"),
            )

        page = client.get(response.url)
        return (
            response.status_code,
            same(response.url),
            same(" ".join(flashes(response))),
            same(text_of(page)),
        )

    known = answer(colleague.email)
    unknown = answer("nobody-here@example.org")
    assert known == unknown
    assert "We sent an invitation to ADDRESS" in known[2]
    rows = Notification.objects.filter(kind="invitation").order_by("pk")
    assert [(n.recipient_id, n.address) for n in rows] == [
        (None, colleague.email),
        (None, "nobody-here@example.org"),
    ]


def test_a_second_pending_invitation_to_the_same_address_is_refused(lone_draft):
    first = send(lone_draft, "a@example.org")
    with pytest.raises(Conflict, match="pending already"):
        send(lone_draft, "A@example.org")
    team_services.invitation_withdraw(invitation=first, actor=lone_draft.applicant)
    assert send(lone_draft, "a@example.org").status == InvitationStatus.PENDING


def test_sending_withdrawing_and_sending_again_stops_at_the_daily_limit(lone_draft, settings):
    """Withdrawn invitations count: the invite form is not a mail relay."""
    settings.TESSERA_INVITATIONS_PER_DAY = 3
    for _ in range(3):
        team_services.invitation_withdraw(
            invitation=send(lone_draft, "target@example.org"), actor=lone_draft.applicant
        )
    mails = len(mail.outbox)
    with pytest.raises(Conflict, match="in the last 24 hours"):
        send(lone_draft, "target@example.org")
    assert len(mail.outbox) == mails
    assert lone_draft.invitations.count() == 3
    # A day later the applicant may invite again.
    lone_draft.invitations.update(created=timezone.now() - timedelta(days=1, minutes=1))
    assert send(lone_draft, "target@example.org").status == InvitationStatus.PENDING


@pytest.mark.parametrize("address", ["not-an-address", "", "a@b@example.org"])
def test_a_bad_address_is_refused_by_the_service_and_the_form(lone_draft, researcher, address):
    with pytest.raises(Invalid):
        send(lone_draft, address)
    response = client_for(researcher).post(
        reverse("access:invitation-send", kwargs={"pk": lone_draft.pk}), {"email": address}
    )
    assert response.status_code == 302
    assert any(m.startswith("Not sent.") for m in flashes(response))
    assert not TeamInvitation.objects.exists()


def test_the_applicant_cannot_invite_their_own_address_nor_accept(lone_draft, researcher):
    with pytest.raises(Invalid):
        send(lone_draft, researcher.email.upper())
    invitation = send(lone_draft)
    with pytest.raises(Forbidden):
        team_services.invitation_accept(
            token=team_services.invitation_token(invitation), actor=researcher
        )
    page = client_for(researcher).get(link_of(invitation))
    assert "you cannot join its team" in text_of(page)
    assert not lone_draft.team_members.exists()


def test_sending_is_refused_once_the_request_is_submitted(submitted):
    with pytest.raises(Conflict, match="cannot change now"):
        send(submitted)


# --- who may invite and withdraw -----------------------------------------------------------------
@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_only_the_applicant_invites_or_withdraws_others_get_404(draft, teammate, outsider, who):
    person = {"teammate": teammate, "outsider": outsider}[who]
    invitation = send(draft)
    client = client_for(person)
    invite = client.post(
        reverse("access:invitation-send", kwargs={"pk": draft.pk}), {"email": "x@example.org"}
    )
    withdraw = client.post(
        reverse(
            "access:invitation-withdraw", kwargs={"pk": draft.pk, "invitation_pk": invitation.pk}
        )
    )
    assert invite.status_code == withdraw.status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    assert draft.invitations.count() == 2  # teammate's accepted one and this one
    with pytest.raises(Forbidden):
        team_services.invitation_send(access_request=draft, actor=person, email="y@example.org")
    with pytest.raises(Forbidden):
        team_services.invitation_withdraw(invitation=invitation, actor=person)


def test_a_team_member_sees_the_team_but_not_the_invitations(draft, teammate):
    send(draft, "secret-colleague@example.org")
    page = text_of(client_for(teammate).get(reverse("access:request-detail", args=[draft.pk])))
    assert "teammate" in page
    assert "secret-colleague@example.org" not in page and "Send invitation" not in page


# --- the invitee's answer -----------------------------------------------------------------------
def test_opening_the_link_signed_out_goes_to_sign_in_and_back(lone_draft):
    link = link_of(send(lone_draft))
    response = Client().get(link)
    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL))
    assert "next=" in response.url and "/invitations/" in response.url


def test_accepting_through_the_page_joins_the_team(lone_draft, colleague):
    invitation = send(lone_draft)
    client = client_for(colleague)
    page = client.get(link_of(invitation))
    assert page.status_code == 200
    words = text_of(page)
    assert lone_draft.title in words and lone_draft.reference in words
    assert "researcher invites you" in words  # no full name: the username stands for it
    response = client.post(link_of(invitation), {"answer": "accept"})
    assert response.status_code == 302 and response.url == lone_draft.get_absolute_url()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.accepted_by == colleague and invitation.answered_at is not None
    assert list(lone_draft.team_members.all()) == [colleague]
    (event,) = events(EventType.INVITATION_ACCEPTED, lone_draft)
    assert event.payload == {"invitation": invitation.pk, "member": pseudonym_for(colleague)}


def test_any_signed_in_account_may_accept_the_address_is_only_where_it_went(lone_draft, colleague):
    invitation = send(lone_draft, "someone-else@example.org")
    team_services.invitation_accept(
        token=team_services.invitation_token(invitation), actor=colleague
    )
    assert list(lone_draft.team_members.all()) == [colleague]


def test_declining_leaves_the_team_as_it_was_and_the_link_dead(lone_draft, colleague):
    invitation = send(lone_draft)
    client = client_for(colleague)
    response = client.post(link_of(invitation), {"answer": "decline"})
    assert response.status_code == 302 and response.url == reverse("access:invitation-list")
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DECLINED and invitation.accepted_by is None
    assert not lone_draft.team_members.exists()
    assert len(events(EventType.INVITATION_DECLINED, lone_draft)) == 1
    assert GENERIC in refused_page(client.get(link_of(invitation)))


def test_a_used_link_is_refused_the_second_time(lone_draft, colleague, outsider):
    invitation = send(lone_draft)
    token = team_services.invitation_token(invitation)
    team_services.invitation_accept(token=token, actor=colleague)
    url = reverse("access:invitation", kwargs={"token": token})
    assert GENERIC in refused_page(client_for(outsider).get(url))
    assert GENERIC in refused_page(client_for(outsider).post(url, {"answer": "accept"}))
    with pytest.raises(NotFound):
        team_services.invitation_accept(token=token, actor=outsider)
    assert list(lone_draft.team_members.all()) == [colleague]


def test_a_withdrawn_invitation_is_refused(lone_draft, researcher, colleague):
    invitation = send(lone_draft)
    response = client_for(researcher).post(
        reverse(
            "access:invitation-withdraw",
            kwargs={"pk": lone_draft.pk, "invitation_pk": invitation.pk},
        )
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.WITHDRAWN
    assert len(events(EventType.INVITATION_WITHDRAWN, lone_draft)) == 1
    assert GENERIC in refused_page(client_for(colleague).get(link_of(invitation)))
    with pytest.raises(NotFound):
        team_services.invitation_accept(
            token=team_services.invitation_token(invitation), actor=colleague
        )
    with pytest.raises(Conflict):
        team_services.invitation_withdraw(invitation=invitation, actor=researcher)


def test_a_link_past_the_invitations_expiry_is_refused(lone_draft, colleague):
    invitation = send(lone_draft)
    TeamInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert GENERIC in refused_page(client_for(colleague).get(link_of(invitation)))
    assert not lone_draft.team_members.exists()


def test_a_token_older_than_the_setting_is_refused_even_if_the_row_is_open(
    lone_draft, colleague, monkeypatch, settings
):
    invitation = send(lone_draft)
    TeamInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + timedelta(days=365)
    )
    real = time.time
    with monkeypatch.context() as m:
        m.setattr(
            signing.time, "time", lambda: real() - (settings.TESSERA_INVITATION_DAYS + 1) * 86400
        )
        old = team_services.invitation_token(invitation)
    assert GENERIC in refused_page(
        client_for(colleague).get(reverse("access:invitation", kwargs={"token": old}))
    )
    # The same link minted now works: it was the age that was refused.
    assert client_for(colleague).get(link_of(invitation)).status_code == 200


def tampered_tokens(invitation) -> dict[str, str]:
    good = team_services.invitation_token(invitation)
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    return {
        "garbage": "x",
        "flipped-signature": flipped,
        "other-nonce": signing.dumps(
            {"i": invitation.pk, "n": "guessed"}, salt=team_services.SALT, compress=False
        ),
        "other-salt": signing.dumps({"i": invitation.pk, "n": invitation.nonce}, compress=False),
        "other-invitation": signing.dumps(
            {"i": invitation.pk + 1000, "n": invitation.nonce}, salt=team_services.SALT
        ),
        "no-fields": signing.dumps([1, 2], salt=team_services.SALT),
        "long": "a" * 3000,
    }


def test_every_unusable_link_gets_the_same_404_page(lone_draft, colleague):
    invitation = send(lone_draft)
    used = send(lone_draft, "used@example.org")
    team_services.invitation_decline(token=team_services.invitation_token(used), actor=colleague)
    client = client_for(colleague)
    pages = {}
    for name, token in {
        **tampered_tokens(invitation),
        "used": team_services.invitation_token(used),
    }.items():
        url = reverse("access:invitation", kwargs={"token": token})
        pages[name] = refused_page(client.get(url))
        assert GENERIC in refused_page(client.post(url, {"answer": "accept"})), name
    assert len(set(pages.values())) == 1, pages.keys()
    assert not lone_draft.team_members.exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING  # the real one still works
    assert client.get(link_of(invitation)).status_code == 200


def test_accepting_is_refused_while_the_team_cannot_change(submitted, colleague):
    invitation = TeamInvitation.objects.create(
        request=submitted,
        email="late@example.org",
        invited_by=submitted.applicant,
        expires_at=timezone.now() + timedelta(days=3),
        nonce="sent-while-a-draft",
    )
    response = client_for(colleague).post(link_of(invitation), {"answer": "accept"})
    assert response.status_code == 302
    assert any("cannot be accepted yet" in m for m in flashes(response))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    assert not submitted.team_members.filter(pk=colleague.pk).exists()


def test_accepting_is_refused_once_the_request_is_withdrawn(lone_draft, researcher, colleague):
    invitation = send(lone_draft)
    request_services.request_withdraw(access_request=lone_draft, actor=researcher)
    with pytest.raises(Conflict, match="withdrawn: nobody joins its team"):
        team_services.invitation_accept(
            token=team_services.invitation_token(invitation), actor=colleague
        )
    assert not lone_draft.team_members.exists()


def test_my_invitations_lists_the_open_ones_sent_to_my_address(lone_draft, colleague, outsider):
    mine = send(lone_draft, colleague.email.upper())
    send(lone_draft, "someone-else@example.org")
    withdrawn = send(lone_draft, "colleague+old@example.org")
    team_services.invitation_withdraw(invitation=withdrawn, actor=lone_draft.applicant)
    page = client_for(colleague).get(reverse("access:invitation-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert lone_draft.title in text_of(page)
    assert "colleague+old" not in html and "someone-else" not in html
    link = re.search(r'href="(/invitations/[^"/]+/)"', html).group(1)
    assert client_for(colleague).post(link, {"answer": "accept"}).status_code == 302
    mine.refresh_from_db()
    assert mine.status == InvitationStatus.ACCEPTED
    assert lone_draft.title not in text_of(
        client_for(outsider).get(reverse("access:invitation-list"))
    )
    requests_page = client_for(outsider).get(reverse("access:request-list"))
    assert "waiting for your answer" not in text_of(requests_page)


# --- the team and its grants --------------------------------------------------------------------
def test_only_accepted_members_get_grants_after_approval(
    lone_draft, researcher, colleague, chair, committee
):
    join_team(lone_draft, colleague)
    bystander = factories.user("bystander")
    declined = factories.user("decliner")
    send(lone_draft, bystander.email)  # never answered
    send(lone_draft, "no-account@example.org")
    invitation = send(lone_draft, declined.email)
    team_services.invitation_decline(
        token=team_services.invitation_token(invitation), actor=declined
    )
    accept_all(lone_draft, researcher)
    accept_all(lone_draft, colleague)
    request_services.request_submit(access_request=lone_draft, actor=researcher)
    decision_services.decision_record(
        review=lone_draft.reviews.get(committee=committee),
        actor=chair,
        outcome="approve",
        end_date=timezone.localdate() + timedelta(days=90),
    )
    holders = set(Grant.objects.filter(request=lone_draft).values_list("user__username", flat=True))
    assert holders == {"researcher", "colleague"}


def test_the_applicant_removes_a_member_while_the_draft_is_open(lone_draft, researcher, colleague):
    join_team(lone_draft, colleague)
    response = client_for(researcher).post(
        reverse("access:team-member-remove", kwargs={"pk": lone_draft.pk, "user_pk": colleague.pk})
    )
    assert response.status_code == 302
    assert not lone_draft.team_members.exists()
    (event,) = events(EventType.TEAM_MEMBER_REMOVED, lone_draft)
    assert event.payload == {"member": pseudonym_for(colleague)}


def test_the_request_page_shows_the_team_and_invitations_to_the_applicant(
    lone_draft, researcher, colleague
):
    join_team(lone_draft, colleague)
    send(lone_draft, "pending@example.org")
    withdrawn = send(lone_draft, "gone@example.org")
    team_services.invitation_withdraw(invitation=withdrawn, actor=researcher)
    response = client_for(researcher).get(reverse("access:request-detail", args=[lone_draft.pk]))
    page = text_of(response)
    assert "Noor Visser (colleague)" in page
    assert "pending@example.org" in page and "Pending until" in page
    assert "gone@example.org" in page and "Withdrawn" in page
    assert "Accepted by Noor Visser" in page
    # The history says what happened, naming no address.
    assert "You invited someone to the team by e-mail." in page
    assert "Noor Visser accepted an invitation and joined the team." in page
    assert "You withdrew an invitation to the team." in page
    html = response.content.decode()
    assert html.count("Withdraw the invitation to") == 1  # only the pending one
    assert 'name="email"' in html and "csrfmiddlewaretoken" in html


def test_the_sweep_records_expired_invitations(lone_draft):
    invitation = send(lone_draft)
    later = invitation.expires_at + timedelta(seconds=1)
    assert team_services.invitations_expire(now=later) == 1
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.EXPIRED
    assert len(events(EventType.INVITATION_EXPIRED, lone_draft)) == 1
    assert team_services.invitations_expire(now=later) == 0
