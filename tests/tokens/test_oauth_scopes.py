"""An OAuth token is limited to its scopes (core/scopes.py), on top of what its person may do.

The attack of issue 10: a third-party client that a committee chair authorised for the default
scope, `catalogue:read`, used the chair's token to read the review queue, post internal comments
and decide requests. Here the token gets 403 for all three, the same chair's token with
`committee:review` may, and the ledger names the client beside the chair. The matrix at the end
runs every scope (and no scope) against the API's endpoints, each called by a person whose role
allows the call, so that only the token's scope decides.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.test import APIClient

from access.models import Comment, Decision
from audit import ledger
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from core import scopes as S
from tokens.oauth import client_register

pytestmark = pytest.mark.django_db

REDIRECT = "https://tool.example.org/callback"


@pytest.fixture
def tool(db):
    """An institution's tool, registered by an administrator (authorization code, PKCE)."""
    return client_register(
        name="Committee dashboard",
        grant_type="authorization-code",
        scopes=[S.COMMITTEE_REVIEW],
        redirect_uris=REDIRECT,
        actor=None,
    )


def bearer_for(user, application, scope: str) -> APIClient:
    """An API client holding `user`'s access token for `application` with `scope`, as
    /o/token/ hands it out after the person authorised the application."""
    raw = secrets.token_urlsafe(24)
    AccessToken.objects.create(
        user=user,
        application=application,
        token=raw,
        expires=timezone.now() + timedelta(hours=1),
        scope=scope,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def authorise(user, registered, scope: str) -> str:
    """The real flow: the person approves the client at /o/authorize/ (PKCE, S256), the client
    exchanges the code at /o/token/. Returns the access token."""
    browser = Client()
    browser.force_login(user)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    app = registered.application
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "xyz",
    }
    assert browser.get("/o/authorize/", params).status_code == 200
    approved = browser.post("/o/authorize/", {**params, "allow": "Authorize"})
    assert approved.status_code == 302, approved.content
    code = parse_qs(urlparse(approved["Location"]).query)["code"][0]
    basic = base64.b64encode(f"{app.client_id}:{registered.client_secret}".encode()).decode()
    token = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert token.status_code == 200, token.content
    assert token.json()["scope"] == scope
    return token.json()["access_token"]


# --- the attack --------------------------------------------------------------------------------
def test_a_catalogue_token_cannot_read_the_queue_comment_or_decide(submitted, chair, tool):
    token = authorise(chair, tool, S.CATALOGUE_READ)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    base = f"/api/v1/access-requests/{submitted.pk}"
    assert api.get("/api/v1/access-requests/?role=committee").status_code == 403
    assert api.get(f"{base}/").status_code == 403
    comment = {"body": "Looks fine to me.", "visibility": "internal"}
    assert api.post(f"{base}/comment/", comment, format="json").status_code == 403
    decide = {"outcome": "reject", "reason": "Out of scope."}
    assert api.post(f"{base}/decide/", decide, format="json").status_code == 403
    assert not Comment.objects.exists()
    assert not Decision.objects.exists()
    # What the scope is for still works.
    assert api.get("/api/v1/datasets/").status_code == 200


def test_with_committee_review_the_chairs_token_reads_comments_and_decides(submitted, chair, tool):
    token = authorise(chair, tool, S.COMMITTEE_REVIEW)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    base = f"/api/v1/access-requests/{submitted.pk}"
    queue = api.get("/api/v1/access-requests/?role=committee").json()["results"]
    assert [r["id"] for r in queue] == [submitted.pk]
    comment = {"body": "Looks fine to me.", "visibility": "internal"}
    assert api.post(f"{base}/comment/", comment, format="json").status_code == 201
    decide = {"outcome": "reject", "reason": "Out of scope."}
    assert api.post(f"{base}/decide/", decide, format="json").status_code == 200
    assert Decision.objects.get().decided_by == chair


def test_the_ledger_names_the_client_beside_the_person(submitted, chair, tool):
    api = bearer_for(chair, tool.application, S.COMMITTEE_REVIEW)
    response = api.post(
        f"/api/v1/access-requests/{submitted.pk}/decide/",
        {"outcome": "reject", "reason": "Out of scope."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    ledger.flush()
    decided = AuditEvent.objects.get(event_type=EventType.DECISION_RECORDED)
    assert decided.actor_id == pseudonym_for(chair)
    assert decided.payload["oauth_client"] == f"client:{tool.application.pk}"
    # Every event of that action, not just the first.
    during = AuditEvent.objects.filter(request_id=decided.request_id)
    assert during.count() > 1
    assert {e.payload.get("oauth_client") for e in during} == {f"client:{tool.application.pk}"}


def test_the_same_action_by_session_names_no_client(submitted, chair):
    api = APIClient()
    api.force_login(chair)
    response = api.post(
        f"/api/v1/access-requests/{submitted.pk}/decide/",
        {"outcome": "reject", "reason": "Out of scope."},
        format="json",
    )
    assert response.status_code == 200
    ledger.flush()
    decided = AuditEvent.objects.get(event_type=EventType.DECISION_RECORDED)
    assert "oauth_client" not in decided.payload


def test_an_applicant_comment_needs_requests_write_a_committee_comment_committee_review(
    submitted, researcher, chair, tool
):
    url = f"/api/v1/access-requests/{submitted.pk}/comment/"
    body = {"body": "A question.", "visibility": "public"}
    as_committee = bearer_for(researcher, tool.application, S.COMMITTEE_REVIEW)
    assert as_committee.post(url, body, format="json").status_code in (403, 404)
    as_applicant = bearer_for(chair, tool.application, S.REQUESTS_WRITE)
    assert as_applicant.post(url, body, format="json").status_code in (403, 404)
    assert not Comment.objects.exists()
    assert (
        bearer_for(researcher, tool.application, S.REQUESTS_WRITE)
        .post(url, body, format="json")
        .status_code
        == 201
    )


# --- the role x scope matrix -------------------------------------------------------------------
def _status_ok(response) -> bool:
    return response.status_code in (200, 201)


def _lists(pk):
    return lambda response: (
        response.status_code == 200 and pk in [r["id"] for r in response.json()["results"]]
    )


def _reached(response) -> bool:
    # Past authentication and the scope check: the view itself answered (here a 400 for an
    # empty body).
    return response.status_code == 400


# name: (who calls, method, path, body, the scopes that let it through, how success looks)
ENDPOINTS = {
    "list my requests": (
        "researcher", "get", "/api/v1/access-requests/?role=applicant", None,
        {S.REQUESTS_READ, S.REQUESTS_WRITE}, "lists",
    ),
    "read my request": (
        "researcher", "get", "/api/v1/access-requests/{pk}/", None,
        {S.REQUESTS_READ, S.REQUESTS_WRITE}, "ok",
    ),
    "withdraw my request": (
        "researcher", "post", "/api/v1/access-requests/{pk}/withdraw/", None,
        {S.REQUESTS_WRITE}, "ok",
    ),
    "comment as applicant": (
        "researcher", "post", "/api/v1/access-requests/{pk}/comment/",
        {"body": "A question.", "visibility": "public"}, {S.REQUESTS_WRITE}, "ok",
    ),
    "list the review queue": (
        "chair", "get", "/api/v1/access-requests/?role=committee", None,
        {S.COMMITTEE_REVIEW}, "lists",
    ),
    "comment as committee": (
        "chair", "post", "/api/v1/access-requests/{pk}/comment/",
        {"body": "Internal note.", "visibility": "internal"}, {S.COMMITTEE_REVIEW}, "ok",
    ),
    "decide": (
        "chair", "post", "/api/v1/access-requests/{pk}/decide/",
        {"outcome": "reject", "reason": "Out of scope."}, {S.COMMITTEE_REVIEW}, "ok",
    ),
    "declare a conflict": (
        "chair", "post", "/api/v1/access-requests/{pk}/recuse/",
        {"reason": "I co-authored with the applicant."}, {S.COMMITTEE_REVIEW}, "ok",
    ),
    "close the review": (
        "chair", "post", "/api/v1/access-requests/{pk}/close/", {"reason": "Duplicate."},
        {S.COMMITTEE_REVIEW}, "ok",
    ),
    "list my grants": ("researcher", "get", "/api/v1/grants/", None, {S.GRANTS_READ}, "ok"),
    "the catalogue": ("researcher", "get", "/api/v1/datasets/", None, {S.CATALOGUE_READ}, "ok"),
    "evaluate consent": (
        "researcher", "post", "/api/v1/consent/evaluate", {}, {S.CATALOGUE_READ}, "reached",
    ),
    "issue a storage token": (
        "researcher", "post", "/api/v1/tokens/", {}, {S.TOKENS_ISSUE}, "reached",
    ),
    "read the ledger": ("admin_user", "get", "/api/v1/audit/events/", None, {S.AUDIT_READ}, "ok"),
    "the ledger's public key": (
        "researcher", "get", "/api/v1/audit/key", None, set(S.PUBLIC_SCOPES) | {""}, "ok",
    ),
}  # fmt: skip
SCOPES = ["", *S.PUBLIC_SCOPES]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s or "no-scope")
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_token_reaches_exactly_the_endpoints_its_scope_allows(
    endpoint, scope, submitted, researcher, chair, admin_user, tool
):
    who, method, path, body, allowed, success = ENDPOINTS[endpoint]
    person = {"researcher": researcher, "chair": chair, "admin_user": admin_user}[who]
    path = path.format(pk=submitted.pk)
    answered = {"ok": _status_ok, "lists": _lists(submitted.pk), "reached": _reached}[success]

    session = APIClient()
    session.force_login(person)
    with_token = bearer_for(person, tool.application, scope)
    call = getattr(with_token, method)
    response = call(path, body, format="json") if body is not None else call(path)
    if scope in allowed:
        assert answered(response), (response.status_code, response.content[:300])
    else:
        assert not answered(response), response.status_code
        assert response.status_code in (200, 403, 404), response.status_code
        if response.status_code == 200:  # a list the scope reaches, without this request
            assert method == "get"
    # The person's own session is not limited by any scope (the call may have changed state,
    # so only the reads are repeated).
    if method == "get":
        assert answered(getattr(session, method)(path))
