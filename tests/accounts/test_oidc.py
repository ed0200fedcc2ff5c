"""Sign-in with an identity provider, against a real OpenID provider process
(`oidc-provider-mock`, started by tests/accounts/conftest.py): the first sign-in creates the
account, later ones find it by (issuer, subject) whatever the e-mail address; denied consent,
a tampered state, a wrong issuer, an expired ID token and an unreachable provider give a page
with a 4xx (503 for the unreachable provider) and a ledger event; the login page offers the
provider only when one is configured; sign-out offers the provider's end-session endpoint."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from access.selectors import researcher_status_current
from accounts import oidc as oidc_client
from accounts import services
from accounts.models import ExternalIdentity, Profile
from accounts.services import user_suspend
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent

from .oidc_support import (
    DiscoveryMirror,
    at_provider,
    authorize,
    back_to_tessera,
    configure,
    free_port,
    link,
    sign_in,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


def events(kind: EventType):
    return list(AuditEvent.objects.filter(event_type=kind).order_by("seq"))


def signed_in_user(client: Client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def failures():
    return [e.payload["reason"] for e in events(EventType.IDENTITY_SIGN_IN_FAILED)]


def claims(**extra):
    base = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "preferred_username": "ada",
        "email": "ada@uni.example",
        "email_verified": True,
        "eduperson_scoped_affiliation": ["member@uni.example", "faculty@uni.example"],
    }
    return {**base, **extra}


# --- the login page -----------------------------------------------------------------------------
def test_without_an_issuer_there_is_no_button_and_the_oidc_urls_are_404(settings):
    settings.TESSERA_OIDC_ISSUER = ""
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"/accounts/oidc/login/" not in page.content
    assert b'name="password"' in page.content
    assert client.get("/accounts/oidc/login/").status_code == 404
    assert client.get("/accounts/oidc/callback/?code=x&state=y").status_code == 404


def test_with_an_issuer_the_provider_comes_first_then_the_password(oidc, settings):
    settings.TESSERA_OIDC_NAME = "Life Science Login"
    page = Client().get("/accounts/login/?next=/requests/")
    text = page.content.decode()
    assert "Sign in with Life Science Login" in text
    assert text.index("/accounts/oidc/login/?next=/requests/") < text.index('name="password"')


# --- first and later sign-ins -------------------------------------------------------------------
def test_first_sign_in_creates_the_account_just_in_time(oidc):
    oidc.set_user("first-sub@lifescience-ri.eu", **claims())
    client = Client()
    done = sign_in(client, sub="first-sub@lifescience-ri.eu", query={"next": "/requests/"})
    assert done.status_code == 302 and done["Location"] == "/requests/"
    user = signed_in_user(client)
    assert user is not None
    assert user.username == "ada"
    assert not user.has_usable_password()
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@uni.example")
    profile = Profile.objects.get(user=user)
    assert profile.email_verified is True
    assert profile.affiliation == "faculty@uni.example, member@uni.example"
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (oidc.url, "first-sub@lifescience-ri.eu")
    assert identity.last_login is not None
    created = events(EventType.ACCOUNT_CREATED)
    assert len(created) == 1
    assert created[0].actor_id == pseudonym_for(user)
    assert created[0].payload == {"issuer": oidc.url, "identity": identity.pk}
    assert len(events(EventType.IDENTITY_SIGNED_IN)) == 1
    assert len(events(EventType.LOGIN)) == 1
    # The ledger holds no subject, name or address.
    for event in AuditEvent.objects.all():
        assert "first-sub" not in str(event.payload) and "ada@" not in str(event.payload)


def test_a_later_sign_in_finds_the_same_account_even_with_a_new_address(oidc):
    sub = "changes-address@lifescience-ri.eu"
    oidc.set_user(sub, **claims(preferred_username="grace", email="grace@old.example"))
    first = Client()
    sign_in(first, sub=sub)
    user = signed_in_user(first)
    oidc.set_user(
        sub, **claims(preferred_username="grace", email="grace@new.example", email_verified=False)
    )
    second = Client()
    done = sign_in(second, sub=sub)
    assert done.status_code == 302
    assert signed_in_user(second) == user
    user.refresh_from_db()
    assert user.email == "grace@new.example"
    assert Profile.objects.get(user=user).email_verified is False  # the new one is not verified
    assert User.objects.filter(external_identities__subject=sub).count() == 1
    assert len(events(EventType.ACCOUNT_CREATED)) == 1
    later = events(EventType.IDENTITY_SIGNED_IN)
    assert [e.payload["email_changed"] for e in later] == [False, True]


def test_an_unverified_address_is_kept_but_not_marked_verified(oidc):
    oidc.set_user("unverified", **claims(preferred_username="unv", email_verified=False))
    client = Client()
    sign_in(client, sub="unverified")
    user = signed_in_user(client)
    assert user.email == "ada@uni.example"
    assert Profile.objects.get(user=user).email_verified is False


def test_a_taken_username_is_never_reused(oidc):
    local = User.objects.create_user("ada", password="a long local password 1")
    oidc.set_user("another-ada", **claims())
    client = Client()
    sign_in(client, sub="another-ada")
    user = signed_in_user(client)
    assert user != local and user.username == "ada-2"
    assert not ExternalIdentity.objects.filter(user=local).exists()


def test_a_username_taken_between_choosing_and_saving_is_chosen_again(oidc, monkeypatch):
    """The race of two first sign-ins wanting one name: the insert fails on the unique
    username, the whole attempt rolls back and the second attempt picks a free name."""
    User.objects.create_user("raced", password="a long local password 6")
    chosen = iter(["raced"])
    original = services._new_username
    monkeypatch.setattr(services, "_new_username", lambda c: next(chosen, None) or original(c))
    oidc.set_user("raced-sub", **claims(preferred_username="raced"))
    client = Client()
    assert sign_in(client, sub="raced-sub").status_code == 302
    assert signed_in_user(client).username == "raced-2"
    assert len(events(EventType.ACCOUNT_CREATED)) == 1


def test_a_signed_in_person_cannot_link_someone_elses_identity(oidc):
    oidc.set_user("owned", **claims(preferred_username="owner"))
    sign_in(Client(), sub="owned")
    intruder = User.objects.create_user("intruder", password="a long local password 7")
    client = Client()
    client.force_login(intruder)
    page = link(client, sub="owned")
    assert page.status_code == 409
    assert b"already linked to another" in page.content
    assert failures() == ["identity_linked_elsewhere"]
    assert ExternalIdentity.objects.get(subject="owned").user.username == "owner"


def test_an_unsafe_next_is_dropped(oidc):
    oidc.set_user("next-check", **claims(preferred_username="nextcheck"))
    done = sign_in(Client(), sub="next-check", query={"next": "https://evil.example/"})
    assert done["Location"] == "/"


def test_a_suspended_account_is_refused(oidc, admin_user):
    oidc.set_user("suspended", **claims(preferred_username="susp"))
    client = Client()
    sign_in(client, sub="suspended")
    user = signed_in_user(client)
    user_suspend(user=user, actor=admin_user, reason="Left the consortium.")
    again = Client()
    refused = sign_in(again, sub="suspended")
    assert refused.status_code == 403
    assert b"suspended" in refused.content
    assert signed_in_user(again) is None
    failed = events(EventType.IDENTITY_SIGN_IN_FAILED)[-1]
    assert failed.payload["reason"] == "account_suspended"
    assert failed.payload["known_account"] is True
    assert failed.target_id == str(user.pk)


def test_a_signed_in_person_links_the_identity_to_their_account(oidc):
    local = User.objects.create_user("steward", password="a long local password 2")
    oidc.set_user("steward-ls-id", **claims(preferred_username="someone-else"))
    client = Client()
    client.force_login(local)
    done = link(client, sub="steward-ls-id", next_url="/requests/")
    assert done.status_code == 302 and done["Location"] == "/requests/"
    identity = ExternalIdentity.objects.get(subject="steward-ls-id")
    assert identity.user == local
    assert len(events(EventType.IDENTITY_LINKED)) == 1
    # Signing in with it later signs in to the same account.
    other = Client()
    sign_in(other, sub="steward-ls-id")
    assert signed_in_user(other) == local
    assert not User.objects.filter(username="someone-else").exists()
    assert not events(EventType.ACCOUNT_CREATED)


def test_linking_needs_a_post_with_the_csrf_token_and_a_get_never_links(oidc):
    person = User.objects.create_user("csrf-victim", password="a long local password 3")
    oidc.set_user("attacker-ls-id", **claims(preferred_username="attacker"))
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(person)
    assert guarded.post("/accounts/oidc/link/").status_code == 403  # no CSRF token
    assert guarded.get("/accounts/oidc/link/").status_code == 405
    # A link on another site to the sign-in start, followed while signed in: nothing starts.
    client = Client()
    client.force_login(person)
    started = client.get("/accounts/oidc/login/", {"next": "/requests/"})
    assert started.status_code == 302 and started["Location"] == "/requests/"
    assert not ExternalIdentity.objects.filter(user=person).exists()
    # Signed out, linking is not offered: the sign-in page.
    assert Client().post("/accounts/oidc/link/")["Location"].startswith("/accounts/login/")


def test_an_administrator_links_an_account_before_its_first_sign_in(oidc):
    chair = User.objects.create_user("chair", password="a long local password 4")
    call_command("identity_link", "chair", "chair-ls-id")
    (linked,) = events(EventType.IDENTITY_LINKED)
    assert linked.actor_kind == "system"
    identity = ExternalIdentity.objects.get(user=chair)
    assert (identity.issuer, identity.last_login) == (oidc.url, None)
    oidc.set_user("chair-ls-id", **claims(preferred_username="not-chair"))
    client = Client()
    sign_in(client, sub="chair-ls-id")
    assert signed_in_user(client) == chair
    other = User.objects.create_user("other", password="a long local password 5")
    with pytest.raises(CommandError, match="already linked to another account"):
        call_command("identity_link", "other", "chair-ls-id")
    assert not ExternalIdentity.objects.filter(user=other).exists()


# --- what goes wrong ----------------------------------------------------------------------------
def test_denied_consent_is_a_clear_403(oidc):
    client = Client()
    back = authorize(at_provider(client), deny=True)
    assert "error=access_denied" in back
    page = back_to_tessera(client, back)
    assert page.status_code == 403
    assert b"You did not allow Tessera" in page.content
    assert signed_in_user(client) is None
    assert failures() == ["access_denied"]


def test_another_provider_error_is_a_400_and_its_code_is_logged_cleanly(oidc, caplog):
    page = Client().get("/accounts/oidc/callback/", {"error": "server_error\nforged: line"})
    assert page.status_code == 400
    assert failures() == ["provider_error"]
    assert "provider_error server_errorforgedline" in caplog.text


def _with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    query = {k: v for k, v in query.items() if v is not None}
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.mark.parametrize("state", ["tampered", None])
def test_a_tampered_or_missing_state_is_a_400(oidc, state):
    oidc.set_user("state-check", **claims(preferred_username="statecheck"))
    client = Client()
    back = authorize(at_provider(client), sub="state-check")
    page = back_to_tessera(client, _with_query(back, state=state))
    assert page.status_code == 400
    assert b"not the one Tessera started" in page.content
    assert signed_in_user(client) is None
    assert failures() == ["bad_state"]
    assert not ExternalIdentity.objects.exists()


def test_a_callback_from_another_browser_session_is_refused(oidc):
    """The state is bound to the session that started the sign-in: a code and state carried
    to another browser (login CSRF) sign nobody in."""
    oidc.set_user("csrf-check", **claims(preferred_username="csrf"))
    back = authorize(at_provider(Client()), sub="csrf-check")
    victim = Client()
    page = back_to_tessera(victim, back)
    assert page.status_code == 400
    assert signed_in_user(victim) is None


def test_an_id_token_from_another_issuer_is_refused(settings, oidc_provider, caplog):
    """Tessera is configured with one issuer URL, whose discovery document names the real
    provider: the ID tokens it signs (validly) say `iss` = the provider, not the configured
    issuer, and Authlib refuses them."""
    mirror = DiscoveryMirror(oidc_provider)
    try:
        configure(settings, mirror.url)
        oidc_provider.set_user("wrong-issuer", **claims(preferred_username="wrongiss"))
        client = Client()
        page = sign_in(client, sub="wrong-issuer")
    finally:
        mirror.stop()
    assert page.status_code == 400
    assert b"could not be verified" in page.content
    assert signed_in_user(client) is None
    assert failures() == ["bad_id_token"]
    assert "bad_id_token InvalidClaimError: invalid_claim: Invalid claim: 'iss'" in caplog.text


def test_the_issuer_is_kept_as_written_and_compared_exactly(settings, oidc_provider):
    """Providers differ on a trailing "/" (ELIXIR AAI's issuer has one, this one's has none):
    the discovery URL never doubles it, and the ID token's `iss` must be the configured value
    exactly, so one that differs by the slash alone is refused."""
    settings.TESSERA_OIDC_ISSUER = "https://login.elixir-czech.org/oidc/"
    assert oidc_client.provider().issuer == "https://login.elixir-czech.org/oidc/"
    assert oidc_client.discovery_url(settings.TESSERA_OIDC_ISSUER) == (
        "https://login.elixir-czech.org/oidc/.well-known/openid-configuration"
    )
    configure(settings, f"{oidc_provider.url}/")  # discovery works; its tokens' iss has no "/"
    oidc_provider.set_user("slash", **claims(preferred_username="slash"))
    client = Client()
    page = sign_in(client, sub="slash")
    assert page.status_code == 400 and signed_in_user(client) is None
    assert failures() == ["bad_id_token"]


def test_an_expired_id_token_is_refused(settings, oidc_provider_expired, caplog):
    configure(settings, oidc_provider_expired.url)
    oidc_provider_expired.set_user("expired", **claims(preferred_username="expired"))
    client = Client()
    page = sign_in(client, sub="expired")
    assert page.status_code == 400
    assert signed_in_user(client) is None
    assert failures() == ["bad_id_token"]
    assert not ExternalIdentity.objects.exists()
    assert "bad_id_token ExpiredTokenError" in caplog.text  # not any other check


def test_an_unreachable_provider_is_a_503_page_not_a_500(settings):
    configure(settings, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    settings.TESSERA_OIDC_TIMEOUT = 2
    page = Client().get("/accounts/oidc/login/")
    assert page.status_code == 503
    assert page["Retry-After"] == "60"
    assert b"could not be reached" in page.content
    assert failures() == ["provider_unreachable"]


def test_a_callback_with_a_used_code_is_refused(oidc):
    oidc.set_user("replay", **claims(preferred_username="replay"))
    client = Client()
    back = authorize(at_provider(client), sub="replay")
    assert back_to_tessera(client, back).status_code == 302
    again = back_to_tessera(client, back)  # the state was used up with the first
    assert again.status_code == 400
    assert failures() == ["bad_state"]


def test_failed_sign_ins_are_bounded_per_address(oidc, settings):
    settings.TESSERA_LOGIN_FAILED_EVENTS_PER_ADDRESS = 2
    client = Client()
    for _ in range(4):
        assert client.get("/accounts/oidc/callback/?code=x&state=forged").status_code == 400
    assert failures() == ["bad_state", "bad_state"]


# --- sign-out -----------------------------------------------------------------------------------
def test_sign_out_ends_the_session_and_offers_the_providers_end_session(oidc, settings):
    settings.TESSERA_BASE_URL = "http://127.0.0.1:8000"
    oidc.set_user("signs-out", **claims(preferred_username="signsout"))
    client = Client()
    sign_in(client, sub="signs-out")
    assert signed_in_user(client) is not None
    page = client.post("/accounts/logout/")
    assert page.status_code == 200
    assert signed_in_user(client) is None
    link = page.context["end_session_url"]
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{oidc.url}/oauth2/end_session"
    query = parse_qs(parts.query)
    assert query["post_logout_redirect_uri"] == ["http://127.0.0.1:8000/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert len(events(EventType.LOGOUT)) == 1


def test_sign_out_of_a_local_session_is_unchanged(oidc):
    user = User.objects.create_user("local", password="a long local password 3")
    client = Client()
    client.force_login(user)
    done = client.post("/accounts/logout/")
    assert done.status_code == 302
    assert signed_in_user(client) is None


def test_the_user_admin_shows_the_identities_read_only(oidc, admin_client):
    oidc.set_user("shown-in-admin", **claims(preferred_username="shown"))
    client = Client()
    sign_in(client, sub="shown-in-admin")
    user = signed_in_user(client)
    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200
    assert b"shown-in-admin" in page.content
    # Shown as text, not as a field an administrator could edit.
    assert b'name="external_identities-0-subject"' not in page.content
    assert b'name="external_identities-TOTAL_FORMS"' in page.content


# --- researcher status from the passport the provider sends ------------------------------------
def _sign_in_with_passport(oidc, sub: str, visas: list[str]) -> User:
    oidc.set_user(sub, **claims(preferred_username=sub.split("@")[0], ga4gh_passport_v1=visas))
    client = Client()
    assert sign_in(client, sub=sub).status_code == 302
    return signed_in_user(client)


def test_a_passport_visa_from_a_trusted_issuer_becomes_the_researcher_status(oidc, visa_world):
    sub = "bona-fide@lifescience-ri.eu"
    user = _sign_in_with_passport(oidc, sub, [visa_world.trusted.visa(sub=sub, jti="ls-1")])
    status = researcher_status_current(user)
    assert status is not None and status.issuer == visa_world.trusted.iss
    assert status.jti == "ls-1"
    assert len(events(EventType.RESEARCHER_STATUS_RECORDED)) == 1


@pytest.mark.parametrize("which", ["untrusted", "expired"])
def test_an_untrusted_or_expired_visa_is_ignored_and_the_sign_in_still_succeeds(
    oidc, visa_world, which
):
    sub = f"{which}-visa@lifescience-ri.eu"
    if which == "untrusted":
        visa = visa_world.untrusted.visa(sub=sub)
        reason = "untrusted_issuer"
    else:
        now = int(time.time())
        visa = visa_world.trusted.visa(sub=sub, iat=now - 7200, exp=now - 3600)
        reason = "expired"
    user = _sign_in_with_passport(oidc, sub, [visa])
    assert user is not None  # signed in all the same
    assert researcher_status_current(user) is None
    assert [e.payload["reason"] for e in events(EventType.RESEARCHER_VISA_IGNORED)] == [reason]
