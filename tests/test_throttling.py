"""DRF's default throttles apply to every endpoint: `anon` per address, `user` per person,
`client` per OAuth application. The storage tier, a machine client, counts against `client`
only (a generous rate), never against the address it may share, and its introspection hot path
is not throttled at all. The cache is emptied between tests (tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests import factories
from tests.tokens.token_support import FEED, introspect, oauth_client, token_keys  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                **rates,
            },
        }

    return set_rates


def statuses(call, n: int) -> list[int]:
    return [call().status_code for _ in range(n)]


def test_anonymous_callers_are_throttled_per_address(rates):
    rates(anon="3/min")
    assert statuses(lambda: Client().get("/api/v1/datasets/"), 4) == [200, 200, 200, 429]
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert other.get("/api/v1/datasets/").status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_count(rates):
    rates(anon="3/min")
    forged = iter(f"198.51.100.{n}" for n in range(1, 10))
    calls = lambda: Client().get("/api/v1/datasets/", HTTP_X_FORWARDED_FOR=next(forged))  # noqa: E731
    assert statuses(calls, 4) == [200, 200, 200, 429]


def test_a_trusted_proxy_forwards_each_clients_own_count(rates, settings):
    rates(anon="2/min")
    settings.TESSERA_TRUSTED_PROXIES = ["127.0.0.1"]
    first = lambda: Client().get("/api/v1/datasets/", HTTP_X_FORWARDED_FOR="198.51.100.1")  # noqa: E731
    assert statuses(first, 3) == [200, 200, 429]
    second = Client().get("/api/v1/datasets/", HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert second.status_code == 200


def test_people_are_throttled_per_person_on_every_endpoint(rates):
    rates(user="3/min", anon="1000/min")
    alice, bob = factories.user("alice"), factories.user("bob")
    api = APIClient()
    api.force_login(alice)
    # Endpoints without throttles of their own, sharing one budget.
    calls = [
        lambda: api.get("/api/v1/access-requests/"),
        lambda: api.get("/api/v1/grants/"),
        lambda: api.get("/api/v1/datasets/"),
        lambda: api.get("/api/v1/access-requests/"),
    ]
    assert [c().status_code for c in calls] == [200, 200, 200, 429]
    other = APIClient()
    other.force_login(bob)
    assert other.get("/api/v1/grants/").status_code == 200


def test_the_storage_tier_counts_against_its_client_rate_not_the_anonymous_one(rates):
    rates(anon="1/min", user="1/min", client="3/min")
    _, storage_bearer = oauth_client("storage", ["introspection"])
    _, other_bearer = oauth_client("other-storage", ["introspection"])

    def feed(bearer):
        return lambda: Client().get(FEED, {"since": 0}, HTTP_AUTHORIZATION=f"Bearer {bearer}")

    assert statuses(feed(storage_bearer), 4) == [200, 200, 200, 429]
    # Another client from the same address has its own budget.
    assert feed(other_bearer)().status_code == 200


def test_introspection_is_never_throttled(rates):
    rates(anon="1/min", user="1/min", client="1/min")
    _, bearer = oauth_client("storage", ["introspection"])
    assert set(statuses(lambda: introspect(bearer, "not-a-token"), 5)) == {200}


def test_the_default_client_rate_leaves_the_storage_tier_room(settings):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["client"]
    count, period = rate.split("/")
    assert period.startswith("min") and int(count) >= 6000
