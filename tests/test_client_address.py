"""Behind the documented nginx proxy, the ledger and the sign-in lockout see the client, not the
proxy; X-Forwarded-For counts only when a configured trusted proxy sent the request."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from audit.choices import EventType
from audit.models import AuditEvent
from core.client_address import client_address
from tests import factories

PROXY = "127.0.0.1"
CLIENT = "203.0.113.7"


def address(remote: str, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TESSERA_TRUSTED_PROXIES = []
    assert address(PROXY, f"6.6.6.6, {CLIENT}") == PROXY


def test_behind_a_trusted_proxy_the_right_most_address_is_the_client(settings):
    settings.TESSERA_TRUSTED_PROXIES = [PROXY]
    # The client wrote 6.6.6.6 itself; nginx appended the peer it saw.
    assert address(PROXY, f"6.6.6.6, {CLIENT}") == CLIENT


def test_a_chain_of_trusted_proxies_is_skipped_from_the_right(settings):
    settings.TESSERA_TRUSTED_PROXIES = [PROXY, "10.0.0.0/8"]
    assert address(PROXY, f"6.6.6.6, {CLIENT}, 10.1.2.3, 10.9.9.9") == CLIENT


def test_a_request_from_an_untrusted_peer_is_that_peer_whatever_it_forwards(settings):
    settings.TESSERA_TRUSTED_PROXIES = [PROXY]
    assert address("198.51.100.4", CLIENT) == "198.51.100.4"


def test_a_malformed_forwarded_entry_stops_at_the_last_vouched_address(settings):
    settings.TESSERA_TRUSTED_PROXIES = [PROXY, "10.0.0.0/8"]
    assert address(PROXY, f"{CLIENT}, not-an-address") == PROXY
    assert address(PROXY, f"{CLIENT}, junk, 10.0.0.2") == "10.0.0.2"


def test_ipv6_proxies_and_clients(settings):
    settings.TESSERA_TRUSTED_PROXIES = ["::1", "fd00::/8"]
    assert address("::1", "2001:db8::5, fd00::7") == "2001:db8::5"
    assert address("::ffff:192.0.2.9") == "192.0.2.9"  # an IPv4 client on an IPv6 socket


def test_a_trusted_proxy_entry_that_is_not_an_address_is_a_configuration_error(settings):
    settings.TESSERA_TRUSTED_PROXIES = ["nginx.internal"]
    with pytest.raises(ImproperlyConfigured, match="TESSERA_TRUSTED_PROXIES"):
        address(PROXY)


@pytest.mark.django_db
def test_the_ledger_records_the_client_behind_the_proxy(client, settings):
    settings.TESSERA_TRUSTED_PROXIES = [PROXY]
    client.post(
        "/accounts/login/",
        {"username": "nobody", "password": "wrong"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"6.6.6.6, {CLIENT}",
    )
    (event,) = AuditEvent.objects.filter(event_type=EventType.LOGIN_FAILED)
    assert event.client_addr == CLIENT


@pytest.mark.django_db
def test_the_lockout_counts_per_client_behind_the_proxy_not_per_proxy(client, settings):
    settings.TESSERA_TRUSTED_PROXIES = [PROXY]
    factories.user("pathologist")

    def sign_in(password: str, client_addr: str) -> int:
        return client.post(
            "/accounts/login/",
            {"username": "pathologist", "password": password},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=client_addr,
        ).status_code

    for _ in range(5):
        sign_in("wrong", CLIENT)
    assert sign_in("pw", CLIENT) == 429
    # The same proxy, another client: not locked out by the first client's guesses.
    assert sign_in("pw", "198.51.100.23") == 302
