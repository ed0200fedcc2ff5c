"""The "My invitations" page lists the invitations sent to an address the person owns for certain: an
account an administrator made has the address entered for it; an account made at sign-in has
its address only if the identity provider said `email_verified`. Otherwise anyone whose provider
sends a colleague's address unverified would see, and could answer, the colleague's invitations.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from access.selectors import invitation_addresses, invitations_pending_for
from access.services import team as team_services
from accounts.models import ExternalIdentity, Profile
from tests import factories
from tests.access_world import make_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def lone_draft(researcher, dataset, agreement, temporary_media):
    draft = make_draft(researcher, [dataset])
    team_services.invitation_send(
        access_request=draft, actor=researcher, email="Noor.Visser@Example.org"
    )
    return draft


@pytest.mark.parametrize(
    ("identity", "profile", "sees"),
    [
        pytest.param(False, None, True, id="made-by-an-administrator"),
        # Its owner saved an ORCID iD on the account page: still the administrator's address.
        pytest.param(False, False, True, id="made-by-an-administrator-with-a-profile"),
        pytest.param(True, True, True, id="provider-verified-the-address"),
        pytest.param(True, False, False, id="provider-did-not-verify-it"),
    ],
)
def test_my_invitations_shows_only_addresses_the_person_owns(
    client, lone_draft, identity, profile, sees
):
    person = factories.user("noor.visser")  # noor.visser@example.org
    if identity:
        ExternalIdentity.objects.create(
            user=person, issuer="https://login.example.org", subject="noor-ls-id"
        )
    if profile is not None:
        Profile.objects.create(user=person, email_verified=profile)
    assert invitation_addresses(person) == ({"noor.visser@example.org"} if sees else set())
    assert bool(invitations_pending_for(person)) is sees
    client.force_login(person)
    page = client.get(reverse("access:invitation-list"))
    assert page.status_code == 200
    assert (lone_draft.title in page.content.decode()) is sees
