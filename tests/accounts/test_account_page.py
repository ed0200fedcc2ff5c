"""My account (/accounts/me/): what Tessera knows about the signed-in person (name, e-mail and
whether it was verified, affiliation, ORCID iD, linked identities, researcher status and its
expiry), the name and ORCID iD they can change (through accounts.profile.profile_update, with
its ledger event), and ORCID's format and ISO 7064 MOD 11-2 check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from access.services import team as team_services
from access.services.researcher_status import VerifiedVisa, researcher_status_record
from accounts.models import ExternalIdentity, Profile
from accounts.orcid import check_character, normalise
from accounts.profile import profile_update
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Forbidden, Invalid
from tests import factories

from .oidc_support import link


def changes():
    return list(AuditEvent.objects.filter(event_type=EventType.PROFILE_CHANGED).order_by("seq"))


# --- ORCID iDs (pure) ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0000-0002-1825-0097", "0000-0002-1825-0097"),  # ORCID's own examples
        ("0000-0001-5109-3700", "0000-0001-5109-3700"),
        ("0000-0002-1694-233x", "0000-0002-1694-233X"),  # check character 10 is X
        (" https://orcid.org/0000-0002-1825-0097 ", "0000-0002-1825-0097"),
    ],
)
def test_valid_orcid_ids_are_stored_in_orcids_form(typed, stored):
    assert normalise(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "0000-0002-1825-0098",  # one digit off: the check character no longer matches
        "0000-0002-1825-009",
        "0000000218250097",
        "0000-0002-1825-00X7",
        "https://example.org/0000-0002-1825-0097",
        "",
        "\u0660\u0660\u0660\u0660-\u0660\u0660\u0660\u0662-\u0661\u0668\u0662\u0665-\u0660\u0660\u06697",
    ],
)
def test_anything_else_is_refused(typed):
    with pytest.raises(ValueError):
        normalise(typed)


def test_the_check_character_is_iso_7064_mod_11_2():
    assert check_character("000000021825009") == "7"
    assert check_character("000000021694233") == "X"


# --- the page -----------------------------------------------------------------------------------
@pytest.fixture
def person(db):
    user = factories.user("ada", first_name="Ada", last_name="Lovelace")
    Profile.objects.create(user=user, email_verified=True, affiliation="member@uni.example")
    return user


def test_the_page_needs_a_sign_in(db):
    page = Client().get("/accounts/me/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")


def test_it_shows_what_tessera_knows_and_is_linked_from_the_header(person):
    ExternalIdentity.objects.create(
        user=person,
        issuer="https://login.example.org/oidc",
        subject="ada-ls-id@lifescience-ri.eu",
        last_login=timezone.now(),
    )
    now = timezone.now()
    researcher_status_record(
        user=person,
        visa=VerifiedVisa(
            issuer="https://visas.example.org/",
            subject="ada-ls-id@lifescience-ri.eu",
            source="https://uni.example",
            value="",
            by="so",
            asserted=now - timedelta(days=1),
            expires_at=now + timedelta(days=300),
            jti="v1",
            visa_sha256="a" * 64,
        ),
        actor=person,
    )
    client = Client()
    client.force_login(person)
    home = client.get("/").content.decode()
    assert 'href="/accounts/me/"' in home
    text = client.get("/accounts/me/").content.decode()
    assert "Ada Lovelace" in text
    assert "ada@example.org" in text and "verified by your institution" in text
    assert "member@uni.example" in text
    assert "https://login.example.org/oidc" in text and "ada-ls-id@lifescience-ri.eu" in text
    assert "bona fide researcher" in text
    assert (now + timedelta(days=300)).strftime("%Y") in text
    assert "No invitations to join a request" in text


def test_an_unverified_address_and_no_status_say_so(db):
    user = factories.user("bob")
    client = Client()
    client.force_login(user)
    text = client.get("/accounts/me/").content.decode()
    assert "(entered by an administrator)" in text
    assert "No current researcher status" in text
    assert "None: you sign in with a Tessera username and password." in text
    assert "/accounts/oidc/login/" not in text  # no identity provider configured: nothing to link
    federated = factories.user("jonas")
    ExternalIdentity.objects.create(user=federated, issuer="https://login.example.org", subject="j")
    Profile.objects.create(user=federated, email_verified=False)
    client.force_login(federated)
    assert "(not verified by your institution)" in client.get("/accounts/me/").content.decode()


def test_the_orcid_id_is_checked_stored_and_recorded_without_its_value(person):
    client = Client()
    client.force_login(person)
    wrong = client.post(
        "/accounts/me/",
        {"first_name": "Ada", "last_name": "Lovelace", "orcid": "0000-0002-1825-0098"},
    )
    assert wrong.status_code == 400
    assert "its last character does not match" in wrong.content.decode()
    assert 'class="error-summary"' in wrong.content.decode()
    assert Profile.objects.get(user=person).orcid == "" and not changes()

    saved = client.post(
        "/accounts/me/",
        {
            "first_name": "Ada",
            "last_name": "King",
            "orcid": "https://orcid.org/0000-0002-1825-0097",
        },
    )
    assert saved.status_code == 302 and saved["Location"] == "/accounts/me/"
    person.refresh_from_db()
    assert (person.last_name, person.profile.orcid) == ("King", "0000-0002-1825-0097")
    (event,) = changes()
    assert event.payload == {"fields": ["last_name", "orcid"]}
    assert event.actor_id == pseudonym_for(person)
    assert "0097" not in str(event.payload) and "King" not in str(event.payload)
    page = client.get("/accounts/me/").content.decode()
    assert "https://orcid.org/0000-0002-1825-0097" in page

    # Saving the same again changes nothing and records nothing; clearing the iD is allowed.
    client.post(
        "/accounts/me/", {"first_name": "Ada", "last_name": "King", "orcid": "0000-0002-1825-0097"}
    )
    assert len(changes()) == 1
    client.post("/accounts/me/", {"first_name": "Ada", "last_name": "King", "orcid": ""})
    assert Profile.objects.get(user=person).orcid == ""
    assert changes()[-1].payload == {"fields": ["orcid"]}


def test_a_name_is_needed_and_only_the_owner_may_change_it(person):
    with pytest.raises(Invalid):
        profile_update(user=person, actor=person, first_name=" ", last_name="", orcid="")
    other = factories.user("eve")
    with pytest.raises(Forbidden):
        profile_update(user=person, actor=other, first_name="Eve", last_name="", orcid="")
    person.refresh_from_db()
    assert person.first_name == "Ada" and not changes()


def test_a_local_account_links_its_identity_from_the_page(db, oidc):
    person = factories.user("grace")
    oidc.set_user("grace-ls-id", given_name="Grace", family_name="Hopper", email="g@uni.example")
    client = Client()
    client.force_login(person)
    page = client.get("/accounts/me/").content.decode()
    assert '<form method="post" action="/accounts/oidc/link/">' in page
    assert 'name="next" value="/accounts/me/"' in page
    back = link(client, sub="grace-ls-id", next_url="/accounts/me/")
    assert back.status_code == 302 and back["Location"] == "/accounts/me/"
    page = client.get("/accounts/me/").content.decode()
    assert oidc.url in page and "grace-ls-id" in page and "Grace Hopper" in page


def test_my_invitations_waiting_for_an_answer_are_listed(draft):
    invitee = factories.user("grace")
    team_services.invitation_send(
        access_request=draft, actor=draft.applicant, email="Grace@Example.org"
    )
    client = Client()
    client.force_login(invitee)
    text = client.get("/accounts/me/").content.decode()
    assert "My invitations" in text
    assert draft.reference in text and draft.title in text
    assert 'href="/invitations/' in text  # its answer page
    # The applicant's own page lists none of them.
    client.force_login(draft.applicant)
    assert "No invitations to join a request" in client.get("/accounts/me/").content.decode()
