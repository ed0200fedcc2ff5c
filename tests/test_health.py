"""Liveness answers without the database; readiness answers for it (its other checks:
tests/test_readiness.py)."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connections


@pytest.mark.django_db
def test_healthz_answers_200_without_a_single_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_even_where_the_database_is_off_limits(client):
    # No django_db mark: pytest-django makes any database access here an error.
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_readyz_answers_503_when_the_database_fails(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(type(connections["default"]), "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["database"]
    assert "connection refused" not in response.content.decode()  # no internals leak


@pytest.mark.django_db
def test_healthz_with_a_session_cookie_still_makes_no_query(
    client, django_assert_num_queries, django_user_model
):
    # A browser that is logged in (or a probe that replays cookies) must not cost a query.
    client.force_login(django_user_model.objects.create_user("probe"))
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_stays_200_while_the_database_is_down(client, monkeypatch, django_user_model):
    client.force_login(django_user_model.objects.create_user("probe"))

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(type(connections["default"]), "cursor", refuse)
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probe_with_a_host_outside_allowed_hosts_gets_400(client, path):
    # docs/deployment.md: probes send a Host from ALLOWED_HOSTS; any other Host is refused
    # here as on every other path (a forged Host must not reach any view).
    assert client.get(path, HTTP_HOST="evil.example.org").status_code == 400


def test_probe_of_a_nodes_own_address_with_an_allowed_host_header_answers(client):
    # Orchestrators probe the pod's IP and set the Host header (Kubernetes: httpHeaders).
    response = client.get("/healthz", HTTP_HOST="localhost:8000", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
