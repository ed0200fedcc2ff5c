"""LOG_FORMAT=json: one JSON object per line, with the request's line (method, path, status,
duration, request id, pseudonymous actor), and never a token, a password or personal data.

The logging configuration is the one settings build for LOG_FORMAT=json (`core.logs`), set up
in the test so that its handler writes to the captured standard error; the requests go through
the whole middleware stack with the request-log middleware where settings put it."""

from __future__ import annotations

import io
import json
import logging.config
import os

import pytest
from django.test import Client

from access.models import TeamInvitation
from access.services import team as team_services
from core.logs import logging_config, redact
from tests import factories
from tests.test_settings import python

PASSWORD = "Correct-Horse-Battery-9"
BEARER = "s3cr3t-bearer-token-value-0123456789"
EMAIL = "rosalind.franklin@example.org"
REQUEST_FIELDS = {"time", "level", "logger", "message", "request_id", "method", "path"}
REQUEST_FIELDS |= {"status", "duration_ms", "actor"}


@pytest.fixture
def json_logs(settings):
    """Log as LOG_FORMAT=json does (its formatter, its request-log middleware), into a buffer
    in place of standard error; call it for the lines written since."""
    settings.LOG_FORMAT = "json"
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("audit.middleware.RequestContextMiddleware") + 1,
        "audit.middleware.RequestLogMiddleware",
    )
    settings.MIDDLEWARE = middleware
    stream = io.StringIO()
    config = logging_config("json", level="INFO")
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)

    def lines() -> list[str]:
        text = stream.getvalue()
        stream.seek(0)
        stream.truncate()
        return [line for line in text.splitlines() if line.strip()]

    yield lines
    logging.config.dictConfig(settings.LOGGING)


@pytest.fixture
def person(db):
    user = factories.user("rfranklin", first_name="Rosalind", last_name="Franklin")
    user.email = EMAIL
    user.set_password(PASSWORD)
    user.save()
    return user


def request_lines(lines: list[str]) -> list[dict]:
    return [entry for entry in map(json.loads, lines) if entry["logger"] == "tessera.request"]


@pytest.mark.django_db
def test_every_line_is_one_json_object_and_requests_have_their_fields(json_logs, person):
    client = Client()
    response = client.post(
        "/accounts/login/?next=/requests/",
        {"username": person.username, "password": PASSWORD},
    )
    assert response.status_code == 302
    page = client.get("/requests/?password=" + PASSWORD)
    lines = json_logs()
    entries = [json.loads(line) for line in lines]  # every line parses alone
    assert all(isinstance(entry, dict) for entry in entries)
    login, listing = request_lines(lines)
    assert set(login) >= REQUEST_FIELDS
    assert set(listing) >= REQUEST_FIELDS
    assert (login["method"], login["path"], login["status"]) == ("POST", "/accounts/login/", 302)
    assert (listing["method"], listing["path"]) == ("GET", "/requests/")
    assert listing["status"] == page.status_code
    assert listing["request_id"] == page["X-Request-ID"]
    assert listing["actor"] == person.pseudonym.pseudonym
    assert login["level"] == "INFO" and login["duration_ms"] >= 0
    assert login["time"].endswith("+00:00")
    text = "\n".join(lines)
    for secret in (PASSWORD, person.username, EMAIL, "Franklin"):
        assert secret not in text


@pytest.mark.django_db
def test_bearer_tokens_in_headers_queries_and_paths_never_reach_the_log(json_logs):
    client = Client()
    client.get(
        f"/api/v1/grants/?access_token={BEARER}&page=2", HTTP_AUTHORIZATION=f"Bearer {BEARER}"
    )
    client.post(
        "/api/v1/tokens/introspect",
        f"token={BEARER}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {BEARER}",
    )
    # A 404 whose path quotes a token and an address (Django logs "Not Found: <path>").
    client.get(f"/no-such-page/{EMAIL}/Bearer%20{BEARER}")
    lines = json_logs()
    text = "\n".join(lines)
    assert BEARER not in text and EMAIL not in text
    paths = [entry["path"] for entry in request_lines(lines)]
    assert paths[:2] == ["/api/v1/grants/", "/api/v1/tokens/introspect"]
    assert {entry["status"] for entry in request_lines(lines)[:2]} <= {401, 403}
    assert any(json.loads(line)["logger"] == "django.request" for line in lines)


@pytest.mark.django_db
def test_an_invitations_signed_link_is_logged_without_its_token(draft, researcher, json_logs):
    invitation = TeamInvitation.objects.filter(request=draft).first() or (
        team_services.invitation_send(
            access_request=draft, actor=researcher, email="guest@example.org"
        )
    )
    token = team_services.invitation_token(invitation)
    Client().get(f"/invitations/{token}/")
    lines = json_logs()
    assert token not in "\n".join(lines)
    (entry,) = request_lines(lines)
    assert entry["path"] == "/invitations/[redacted]/"


def test_redact_blanks_credentials_tokens_and_addresses():
    text = (
        "GET /cb?code=abc123&state=xyz&page=2 Authorization: Bearer tok.en-1 "
        "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln mail ada@example.org password=hunter2"
    )
    assert redact(text) == (
        "GET /cb?code=[redacted]&state=[redacted]&page=2 Authorization: Bearer [redacted] "
        "[redacted] mail [redacted] password=[redacted]"
    )


def _process_env(**overrides: str) -> dict[str, str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"LOG_FORMAT", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE", "TESSERA_ENV"}
    }
    return {**environ, "DJANGO_SETTINGS_MODULE": "config.settings", **overrides}


def test_a_process_started_with_log_format_json_writes_only_json_lines():
    """The settings' own wiring, in a process of its own: every line on standard error parses,
    and the request's line is there without its query string."""
    result = python(
        "import django; django.setup(); from django.test import Client; "
        f"Client().get('/no-such-page/?token={BEARER}', HTTP_AUTHORIZATION='Bearer {BEARER}')",
        env=_process_env(LOG_FORMAT="json"),
    )
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    (line,) = [e for e in entries if e["logger"] == "tessera.request"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/no-such-page/", 404)
    assert BEARER not in result.stderr


def test_an_unknown_log_format_stops_the_process_at_start_up():
    result = python("import django; django.setup()", env=_process_env(LOG_FORMAT="xml"))
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json" in result.stderr


@pytest.mark.django_db
def test_djangos_own_lines_quote_the_path_without_a_links_token(draft, researcher, json_logs):
    """Django's CSRF and 404 records quote the raw path: the link's token is blanked there too
    (found in review: `Forbidden (CSRF cookie not set.): /invitations/<token>/`)."""
    invitation = team_services.invitation_send(
        access_request=draft, actor=researcher, email="someone@example.org"
    )
    token = team_services.invitation_token(invitation)
    Client(enforce_csrf_checks=True).post(f"/invitations/{token}/", {"answer": "accept"})
    Client().get(f"/invitations/{token}/nothing-here/")
    lines = json_logs()
    assert lines
    text = "\n".join(lines)
    assert token not in text
    assert token.split(":")[-1] not in text
    assert any("CSRF" in json.loads(line)["message"] for line in lines)


@pytest.mark.django_db
def test_a_username_in_a_path_is_not_logged(json_logs, person):
    Client().get("/api/v1/ga4gh/permissions/rfranklin")
    Client().post("/api/v1/access-requests/1/members/rfranklin/remove/")
    lines = json_logs()
    assert "rfranklin" not in "\n".join(lines)
    paths = [entry["path"] for entry in request_lines(lines)]
    assert "/api/v1/ga4gh/permissions/[redacted]" in paths
