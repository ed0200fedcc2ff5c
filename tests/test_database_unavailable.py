"""Honest answers while the database is unreachable (issue 16, part 1; PostgreSQL, the real
database refusing connections): every endpoint answers 503 with `Retry-After`, JSON for
machine clients and the branded page for people, never a 500; introspection answers 503, never
`active: false`; liveness stays up. When the database accepts connections again, so does
Tessera."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from tests.audit.test_sequencer_reconnects import refuse_connections

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (a real database that refuses connections)",
    ),
]


@pytest.fixture
def refused():
    """The database refuses new connections; this process's connection is closed."""
    refuse_connections(True)
    connection.close()
    try:
        yield
    finally:
        refuse_connections(False)
        connection.close()


REQUESTS = [
    ("get", "/api/v1/datasets/", {}),
    ("post", "/api/v1/tokens/introspect", {"data": "token=x", "content_type": "application/x-www-form-urlencoded", "HTTP_AUTHORIZATION": "Bearer abc"}),
    ("post", "/o/token/", {"data": "grant_type=client_credentials", "content_type": "application/x-www-form-urlencoded"}),
    ("get", "/.well-known/jwks.json", {}),
]  # fmt: skip
PAGES = ["/", "/datasets/"]


def test_machine_clients_get_a_json_503_with_retry_after(refused):
    client = Client(raise_request_exception=False)
    for method, path, kwargs in REQUESTS:
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 503, (path, response.status_code)
        assert response["Retry-After"] == "5"
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert "briefly unavailable" in body["detail"]
        assert "active" not in body, "introspection never answers a silent active: false"


def test_people_get_the_branded_503_page(refused):
    client = Client(raise_request_exception=False)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 503, (path, response.status_code)
        assert response["Retry-After"] == "5"
        page = response.content.decode()
        assert "Tessera is briefly unavailable" in page
        assert "try again in 5 seconds" in page


def test_a_signed_in_researcher_gets_the_503_page_not_an_error():
    from tests import factories  # noqa: PLC0415 - the user is made before the database refuses

    client = Client(raise_request_exception=False)
    client.force_login(factories.user("researcher"))
    refuse_connections(True)
    connection.close()
    try:
        for path in ("/requests/", "/access/", "/admin/"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.status_code)
            assert "Tessera is briefly unavailable" in response.content.decode()
    finally:
        refuse_connections(False)
        connection.close()


def test_liveness_stays_up_and_readiness_says_not_ready(refused):
    client = Client(raise_request_exception=False)
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503


def test_answers_come_back_with_the_database():
    refuse_connections(True)
    connection.close()
    try:
        assert Client(raise_request_exception=False).get("/datasets/").status_code == 503
    finally:
        refuse_connections(False)
        connection.close()
    assert Client().get("/datasets/").status_code == 200
