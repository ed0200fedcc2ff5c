"""Production error pages: Tessera's own, saying what happened with a way back; JSON under /api/;
the 500 page without touching the database."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connections
from django.test import Client

pytestmark = pytest.mark.django_db

HOME_LINK = 'href="/"'


def assert_branded(response, status: int, heading: str):
    assert response.status_code == status
    page = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert heading in page
    assert HOME_LINK in page
    assert "/static/tessera.css" in page  # the site's own look, not Django's bare page


def test_unknown_page_gets_the_branded_404(client):
    assert_branded(client.get("/no-such-page/"), 404, "Page not found")


def test_unknown_api_path_gets_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_bad_host_gets_the_branded_400(client):
    assert_branded(
        client.get("/catalogue/", HTTP_HOST="evil.example.org"),
        400,
        "Tessera could not understand that request",
    )


@pytest.mark.urls("tests.error_urls")
def test_permission_denied_gets_the_branded_403(client):
    assert_branded(client.get("/forbidden/"), 403, "You are not allowed to do that")


@pytest.mark.urls("tests.error_urls")
def test_a_crash_gets_the_branded_500(client):
    response = Client(raise_request_exception=False).get("/boom/")
    assert_branded(response, 500, "Something went wrong on our side")
    assert "the database is gone" not in response.content.decode()


@pytest.mark.urls("tests.error_urls")
def test_the_503_page_renders_while_the_database_is_down(django_user_model, monkeypatch):
    """Unreachable is not broken: 503 with Retry-After (tests/test_database_unavailable.py
    refuses real connections on PostgreSQL)."""
    client = Client(raise_request_exception=False)
    client.force_login(django_user_model.objects.create_user("someone"))

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(type(connections["default"]), "cursor", refuse)
    response = client.get("/catalogue/")
    assert_branded(response, 503, "Tessera is briefly unavailable")
    assert response["Retry-After"] == "5"
    assert "Sign out" not in response.content.decode()  # no user context on this page


@pytest.mark.urls("tests.error_urls")
def test_a_crash_under_the_api_is_json():
    response = Client(raise_request_exception=False).get("/api/v1/boom/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error."}


def test_a_form_without_its_csrf_token_gets_the_branded_403_saying_how_to_go_on():
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "a", "password": "b"}
    )
    assert_branded(response, 403, "That form could not be sent")
    assert "reload the page" in response.content.decode()


# --- a service's refusal that a view let through (core.middleware.RefusalMiddleware) ----------
@pytest.mark.urls("tests.error_urls")
@pytest.mark.parametrize(
    ("path", "status", "heading", "why"),
    [
        ("/conflict/", 409, "That cannot be done now", "This grant is already revoked."),
        (
            "/invalid/",
            400,  # bad input is a 400, not a 500
            "Tessera could not understand that request",
            "Say why the grant is revoked.",
        ),
        (
            "/refused/",
            403,
            "You are not allowed to do that",
            "Only the chair or the secretary may close a review.",
        ),
    ],
    ids=["conflict", "bad-input", "refusal-of-rights"],
)
def test_a_refusal_a_view_let_through_gets_the_branded_page_saying_why(
    client, path, status, heading, why
):
    response = client.get(path)
    assert_branded(response, status, heading)
    assert why in response.content.decode()


@pytest.mark.urls("tests.error_urls")
def test_a_refusal_under_the_api_is_json_with_its_status(client):
    response = client.get("/api/v1/conflict/")
    assert response.status_code == 409
    assert response.json() == {"detail": "This grant is already revoked."}
