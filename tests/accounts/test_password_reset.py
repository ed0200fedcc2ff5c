"""Password reset by e-mail for local accounts, with Django's own views, branded: the login page
links to it; the answer is the same whether or not an address has an account; accounts without
a usable password (created by an identity provider) are never sent a link; the link uses the
site's public URL, works once, and sets the password through accounts.passwords with its
ledger events (the address typed is never written; requests are bounded)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()
LINK = re.compile(r"https://tessera\.example\.org(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.TESSERA_BASE_URL = "https://tessera.example.org"


def events(kind):
    return list(AuditEvent.objects.filter(event_type=kind).order_by("seq"))


def ask(client: Client, address: str):
    return client.post("/accounts/password/reset/", {"email": address}, follow=True)


def test_the_login_page_links_to_it():
    page = Client().get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in page
    form = Client().get("/accounts/password/reset/")
    assert form.status_code == 200 and b'name="email"' in form.content


def test_known_and_unknown_addresses_get_the_same_answer_and_only_an_account_gets_mail():
    admin = factories.user("root", is_staff=True)
    known = ask(Client(), admin.email)
    unknown = ask(Client(), "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert (
        known.redirect_chain == unknown.redirect_chain == [("/accounts/password/reset/sent/", 302)]
    )
    assert known.content == unknown.content
    (message,) = mail.outbox
    assert message.to == [admin.email] and "Tessera" in message.subject
    assert LINK.search(message.body), message.body  # the public URL, not the Host header
    sent, nobody = events(EventType.PASSWORD_RESET_REQUESTED)
    assert sent.payload == {"accounts": [pseudonym_for(admin)]}
    assert nobody.payload == {"accounts": []}
    for event in (sent, nobody):
        assert "example.org" not in str(event.payload)
        assert (event.actor_kind, event.actor_id) == ("user", "anonymous")


def test_an_account_without_a_password_is_never_sent_a_link():
    federated = User.objects.create_user("fed", email="fed@uni.example")  # no usable password
    assert not federated.has_usable_password()
    ask(Client(), "fed@uni.example")
    assert mail.outbox == []
    assert events(EventType.PASSWORD_RESET_REQUESTED)[0].payload == {"accounts": []}


def test_the_link_sets_a_new_password_once():
    admin = factories.user("root", is_staff=True)
    other_session = Client()
    other_session.force_login(admin)
    ask(Client(), admin.email)
    path = LINK.search(mail.outbox[0].body).group(1)
    client = Client()
    opened = client.get(path, follow=True)
    assert opened.status_code == 200 and b"Choose a new password" in opened.content
    form_url = opened.redirect_chain[-1][0]
    new = "a brand new passphrase 42"
    done = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/done/"
    admin.refresh_from_db()
    assert admin.check_password(new)
    (event,) = events(EventType.PASSWORD_RESET_COMPLETED)
    assert event.actor_id == pseudonym_for(admin) and event.target_id == str(admin.pk)
    # The link is spent; the session signed in before the reset is over.
    again = Client().get(path, follow=True)
    assert b"This link does not work" in again.content
    assert other_session.get("/accounts/me/").status_code == 302
    signed_in = Client().post("/accounts/login/", {"username": "root", "password": new})
    assert signed_in.status_code == 302


def test_a_weak_password_is_refused_on_the_page():
    admin = factories.user("root", is_staff=True)
    ask(Client(), admin.email)
    client = Client()
    opened = client.get(LINK.search(mail.outbox[0].body).group(1), follow=True)
    refused = client.post(
        opened.redirect_chain[-1][0], {"new_password1": "root", "new_password2": "root"}
    )
    assert refused.status_code == 200 and b"error-summary" in refused.content
    assert not events(EventType.PASSWORD_RESET_COMPLETED)


def test_requests_are_bounded_per_address(settings):
    settings.AUDIT_BOUNDED_LIMIT = 2
    for _ in range(4):
        ask(Client(), "nobody@example.org")
    assert len(events(EventType.PASSWORD_RESET_REQUESTED)) == 2
