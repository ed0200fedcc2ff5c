"""Refused committee actions and introspection calls leave one bounded trace in the ledger
(NEN 7513, ASVS V16); ordinary 404s do not."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit import bounded, ledger
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from tests.access_world import api as api_client
from tests.tokens.token_support import (
    INTROSPECT,
    grant,
    introspect,
    oauth_client,
    storage,
    token_keys,
)

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.9"
API_ACTIONS = {
    "decide": {"outcome": "reject", "reason": "Out of scope."},
    "vote": {"choice": "approve", "rationale": "Fine."},
    "close": {},
    "revoke": {"grant": 1, "reason": "Ended."},
}
ADMIN_POSTS = {
    "decide": "decision_record",
    "vote": "vote_cast",
    "close": "review_close",
    "comment": "comment_add",
    "start": "review_start",
}


def refusals() -> list[AuditEvent]:
    ledger.flush()
    return list(AuditEvent.objects.filter(event_type=EventType.ACCESS_REFUSED).order_by("seq"))


def api(user=None) -> APIClient:
    return api_client(user, REMOTE_ADDR=ADDRESS)


def admin_client(user) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(user)
    return client


def review_of(access_request, committee):
    return access_request.reviews.get(committee=committee)


# --- the API ------------------------------------------------------------------------------------
@pytest.mark.parametrize("action", API_ACTIONS)
def test_an_outsiders_committee_action_on_the_api_is_refused_and_recorded_once(
    action, submitted, outsider
):
    response = api(outsider).post(
        f"/api/v1/access-requests/{submitted.pk}/{action}/", API_ACTIONS[action], format="json"
    )
    assert response.status_code == 404
    (event,) = refusals()
    assert event.actor_id == pseudonym_for(outsider)
    assert event.client_addr == ADDRESS
    assert event.payload == {
        "action": f"access_request.{action}",
        "method": "POST",
        "path": f"/api/v1/access-requests/{submitted.pk}/{action}/",
        "status": 404,
    }


def test_a_member_refused_by_the_decision_policy_is_recorded_with_403(submitted, member, chair):
    response = api(member).post(
        f"/api/v1/access-requests/{submitted.pk}/close/", {"reason": "Duplicate."}, format="json"
    )
    assert response.status_code == 403
    (event,) = refusals()
    assert (event.actor_id, event.payload["status"]) == (pseudonym_for(member), 403)


def test_an_allowed_committee_action_records_no_refusal(submitted, chair):
    response = api(chair).post(
        f"/api/v1/access-requests/{submitted.pk}/close/", {"reason": "Duplicate."}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert refusals() == []


def test_ordinary_404s_are_not_recorded(researcher, submitted):
    assert api(researcher).get("/api/v1/access-requests/999999/").status_code == 404
    assert Client().get("/no-such-page/").status_code == 404
    assert api(researcher).get("/api/v1/grants/999999/").status_code == 404
    assert refusals() == []


# --- the committee admin --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("page", "action"), [("change", "admin.review_view"), ("history", "admin.review_history")]
)
def test_another_committees_member_opening_a_review_page_is_recorded(
    submitted, committee, other_member, page, action
):
    review = review_of(submitted, committee)
    response = admin_client(other_member).get(
        reverse(f"admin:access_review_{page}", args=[review.pk])
    )
    assert response.status_code == 404
    (event,) = refusals()
    assert event.payload["action"] == action
    assert event.actor_id == pseudonym_for(other_member)


@pytest.mark.parametrize("name", ADMIN_POSTS)
def test_another_committees_member_posting_a_committee_action_is_recorded(
    name, submitted, committee, other_member
):
    review = review_of(submitted, committee)
    response = admin_client(other_member).post(
        reverse(f"admin:access_review_{name}", args=[review.pk]), {}
    )
    assert response.status_code == 404
    (event,) = refusals()
    assert event.payload["action"] == f"admin.{ADMIN_POSTS[name]}"
    assert event.payload["status"] == 404


def test_revoking_a_grant_of_another_committee_in_the_admin_is_recorded(
    grant, other_member, committee
):
    review = grant.decision.review
    response = admin_client(other_member).post(
        reverse("admin:access_review_revoke", args=[review.pk, grant.pk]), {}
    )
    assert response.status_code == 404
    (event,) = refusals()
    assert event.payload["action"] == "admin.grant_revoke"
    grant.refresh_from_db()
    assert grant.is_active


def test_a_service_refusal_on_the_review_page_is_recorded_with_403(submitted, committee, member):
    review = review_of(submitted, committee)
    response = admin_client(member).post(
        reverse("admin:access_review_close", args=[review.pk]), {"close-reason": "Duplicate."}
    )
    assert response.status_code == 200  # the page again, with the reason
    (event,) = refusals()
    assert event.payload == {
        "action": "admin.review_close",
        "method": "POST",
        "path": reverse("admin:access_review_close", args=[review.pk]),
        "status": 403,
    }


# --- introspection --------------------------------------------------------------------------------
def test_introspection_without_credentials_is_recorded_on_the_fast_path():
    response = introspect(None, "whatever", Client(REMOTE_ADDR=ADDRESS))
    assert response.status_code == 401
    (event,) = refusals()
    assert event.actor_id == "anonymous"
    assert event.client_addr == ADDRESS
    assert event.payload["action"] == "tokens.introspect"
    assert event.payload["status"] == 401


def test_introspection_with_an_invalid_client_token_is_recorded(storage):
    assert introspect("not-a-token", "whatever").status_code == 401
    assert [e.payload["status"] for e in refusals()] == [401]


def test_introspection_by_a_client_without_the_scope_is_recorded_as_that_client(db):
    app, bearer = oauth_client("catalogue-tool", ["catalogue:read"])
    assert introspect(bearer, "whatever").status_code == 403
    (event,) = refusals()
    assert event.actor_id == f"client:{app.pk}"
    assert event.actor_kind == "client"


def test_an_introspection_with_valid_credentials_records_no_refusal(storage):
    _, bearer = storage
    assert introspect(bearer, "whatever").status_code == 200
    assert refusals() == []


def test_introspection_through_the_drf_view_is_recorded_the_same_way():
    response = Client(REMOTE_ADDR=ADDRESS).post(INTROSPECT, {"token": "whatever"})  # multipart
    assert response.status_code == 401
    (event,) = refusals()
    assert event.payload["action"] == "tokens.introspect"


# --- the bound ------------------------------------------------------------------------------------
def test_an_outsider_hammering_is_recorded_up_to_the_limit_then_summarised(
    submitted, outsider, settings, monkeypatch
):
    settings.AUDIT_BOUNDED_LIMIT = 5
    client = api(outsider)
    for _ in range(30):
        client.post(f"/api/v1/access-requests/{submitted.pk}/decide/", {}, format="json")
    assert len(refusals()) == 5
    future = timezone.now() + timedelta(seconds=settings.AUDIT_BOUNDED_WINDOW_SECONDS)
    monkeypatch.setattr(timezone, "now", lambda: future)
    bounded.bounded_flush()
    ledger.flush()
    summaries = {
        e.payload["key"]: e.payload
        for e in AuditEvent.objects.filter(event_type=EventType.EVENTS_SUPPRESSED)
    }
    assert set(summaries) == {f"actor:{pseudonym_for(outsider)}", f"address:{ADDRESS}"}
    assert {(s["seen"], s["suppressed"]) for s in summaries.values()} == {(30, 25)}
    assert all(s["kind"] == EventType.ACCESS_REFUSED for s in summaries.values())


def test_anonymous_callers_are_bounded_per_address(settings):
    settings.AUDIT_BOUNDED_LIMIT = 3
    for _ in range(10):
        introspect(None, "whatever", Client(REMOTE_ADDR=ADDRESS))
    introspect(None, "whatever", Client(REMOTE_ADDR="198.51.100.7"))
    assert [e.client_addr for e in refusals()] == [ADDRESS] * 3 + ["198.51.100.7"]
