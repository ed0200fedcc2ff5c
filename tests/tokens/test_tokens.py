"""Access tokens: issued only for an active grant, never beyond it, recorded, revoked with the
grant / dataset / account, listed in the revocation feed."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import selectors
from access.lifecycle import GrantRecord, grant_inactive_reason
from access.models import Grant
from access.services import grants as grant_services
from accounts.services import user_suspend
from audit import ledger
from audit.actors import pseudonym_for
from audit.choices import EventType
from governance import services as gov
from tests import factories
from tests.access_world import accept_all, approve_part
from tokens.api.tokens import TokenThrottle
from tokens.choices import RevocationCause, TokenKind
from tokens.issue import PORTAL_CLIENT_ID, TokenRefused, grant_row_state, grant_state, token_issue
from tokens.models import IssuedToken, TokenRevocation

from .token_support import (
    AUDIENCE,
    BASE_URL,
    FEED,
    api_client,
    events_of,
    feed,
    grant,
    introspect,
    oauth_client,
    storage,
    token_keys,
    verify_independently,
)

pytestmark = pytest.mark.django_db


# --- issuing ------------------------------------------------------------------------------------
def test_token_is_an_rfc9068_jwt_that_an_independent_library_verifies(grant, researcher):
    issued = token_issue(grant=grant, actor=researcher)
    claims = verify_independently(issued.token, typ="at+jwt")
    assert claims["iss"] == BASE_URL
    assert claims["sub"] == pseudonym_for(researcher)
    assert claims["aud"] == AUDIENCE
    assert claims["scope"] == f"dataset:{grant.dataset.accession}:read"
    assert claims["dataset"] == grant.dataset.accession
    assert claims["grant"] == grant.pk
    assert claims["jti"] == issued.jti
    assert claims["client_id"] == PORTAL_CLIENT_ID
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == 3600


def test_token_names_the_person_by_pseudonym_never_by_username(grant, researcher):
    issued = token_issue(grant=grant, actor=researcher)
    payload = issued.token.split(".")[1]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert researcher.username not in decoded
    assert researcher.email not in decoded


def test_audience_may_name_several_storage_tiers(grant, researcher, settings):
    settings.TESSERA_TOKEN_AUDIENCE = [AUDIENCE, "https://htsget.example.org"]
    issued = token_issue(grant=grant, actor=researcher)
    claims = verify_independently(issued.token, typ="at+jwt", audience="https://htsget.example.org")
    assert claims["aud"] == [AUDIENCE, "https://htsget.example.org"]


def test_lifetime_is_configurable(grant, researcher, settings):
    settings.TESSERA_TOKEN_LIFETIME = timedelta(minutes=5)
    claims = verify_independently(token_issue(grant=grant, actor=researcher).token, typ="at+jwt")
    assert claims["exp"] - claims["iat"] == 300


def test_token_never_outlives_grant(grant, researcher):
    ends = timezone.now().replace(microsecond=0) + timedelta(minutes=10, seconds=30)
    Grant.objects.filter(pk=grant.pk).update(valid_until=ends)
    issued = token_issue(grant=grant, actor=researcher)
    claims = verify_independently(issued.token, typ="at+jwt")
    assert claims["exp"] == int(ends.timestamp())
    assert issued.expires_at == ends
    assert IssuedToken.objects.get(jti=issued.jti).expires_at == ends


def test_token_never_outlives_the_ethics_approval(grant, researcher):
    today = datetime.now(UTC).date()
    type(grant.request).objects.filter(pk=grant.request_id).update(ethics_expiry=today)
    issued = token_issue(grant=grant, actor=researcher)
    end_of_today = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert issued.expires_at <= end_of_today
    assert issued.expires_at == min(end_of_today, issued.issued_at + timedelta(hours=1))


def test_each_token_is_recorded_with_a_ledger_event(grant, researcher):
    issued = token_issue(grant=grant, actor=researcher)
    row = IssuedToken.objects.get(jti=issued.jti)
    assert (row.kind, row.grant_id, row.user_id) == (TokenKind.ACCESS, grant.pk, researcher.pk)
    event = events_of(EventType.TOKEN_ISSUED)[-1]
    assert event.payload["jti"] == issued.jti
    assert event.payload["dataset"] == grant.dataset.accession
    assert event.payload["holder"] == pseudonym_for(researcher)
    assert event.target_id == str(grant.pk)
    assert issued.token not in json.dumps(event.payload)


def expire(grant, **_):
    Grant.objects.filter(pk=grant.pk).update(
        valid_from=timezone.now() - timedelta(days=30),
        valid_until=timezone.now() - timedelta(days=1),
    )


def not_yet_valid(grant, **_):
    Grant.objects.filter(pk=grant.pk).update(valid_from=timezone.now() + timedelta(days=1))


def revoke(grant, *, chair, **_):
    grant_services.grant_revoke(grant=grant, actor=chair, reason="Breach of the agreement.")


def retire(grant, **_):
    gov.dataset_retire(dataset=grant.dataset, actor=None, reason="Withdrawn by the controller.")


def ethics_expired(grant, **_):
    type(grant.request).objects.filter(pk=grant.request_id).update(
        ethics_expiry=timezone.localdate() - timedelta(days=1)
    )


def suspend(grant, *, admin, **_):
    user_suspend(user=grant.user, actor=admin, reason="Shared their token.")


REFUSALS = [
    (expire, "The grant has expired."),
    (not_yet_valid, "The grant is not valid yet."),
    (revoke, "The grant was revoked."),
    (retire, "The dataset is no longer published."),
    (ethics_expired, "The ethics approval has expired."),
    (suspend, "The account is suspended."),
]


@pytest.mark.parametrize(
    ("make_inactive", "reason"), REFUSALS, ids=[f.__name__ for f, _ in REFUSALS]
)
def test_no_token_without_an_active_grant_and_the_reason_is_given(
    grant, researcher, chair, admin_user, make_inactive, reason
):
    make_inactive(grant, chair=chair, admin=admin_user)
    researcher.refresh_from_db()
    with pytest.raises(TokenRefused, match=re.escape(reason)):
        token_issue(grant=grant, actor=researcher)
    assert not IssuedToken.objects.filter(grant=grant).exists()


def test_no_token_before_the_holder_accepted_the_agreement(submitted, chair, dataset, teammate):
    approve_part(submitted, dataset, chair, days=30)
    theirs = Grant.objects.get(request=submitted, user=teammate, dataset=dataset)
    with pytest.raises(TokenRefused, match="agreement was not accepted"):
        token_issue(grant=theirs, actor=teammate)
    accept_all(submitted, teammate)
    assert token_issue(grant=theirs, actor=teammate).grant_id == theirs.pk


def test_only_the_holder_gets_a_token_for_a_grant(grant, outsider, chair):
    for someone in (outsider, chair, None):
        with pytest.raises(PermissionDenied):
            token_issue(grant=grant, actor=someone)


def test_the_one_query_state_is_the_state_the_model_reads(
    grant, submitted, chair, admin_user, dataset, django_assert_num_queries
):
    """The hot paths read a grant's state in one query; the one rule must get from it the facts
    that the model gives it (`Grant.state`), in every state a grant can be in."""
    # The teammate's grant: approved, but the teammate has not accepted the agreement.
    grant_ids = list(
        Grant.objects.filter(request=submitted, dataset=dataset).values_list("pk", flat=True)
    )
    seen = set()
    for make_inactive in [None, *(f for f, _ in REFUSALS)]:
        with transaction.atomic():
            if make_inactive:
                make_inactive(grant, chair=chair, admin=admin_user)
            now = timezone.now()
            for pk in grant_ids:
                holder = Grant.objects.get(pk=pk).user
                model = selectors.grant_list_for_user(holder).get(pk=pk)
                row = grant_row_state(grant_state(pk))
                for fact in GrantRecord.__dataclass_fields__:
                    assert getattr(row, fact) == getattr(model.state(), fact), (make_inactive, fact)
                expected = model.inactive_reason(now)
                assert grant_inactive_reason(row, now) == expected, (make_inactive, pk)
                seen.add(expected)
            transaction.set_rollback(True)
    assert seen == {None, "The access agreement was not accepted.", *(r for _, r in REFUSALS)}
    with django_assert_num_queries(1):
        grant_state(grant.pk)


def test_a_revoked_grant_is_judged_without_loading_its_relations(grant, django_assert_num_queries):
    Grant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())
    fresh = Grant.objects.get(pk=grant.pk)
    with django_assert_num_queries(0):
        assert fresh.inactive_reason() == "The grant was revoked."


# --- the REST API -------------------------------------------------------------------------------
def test_researcher_gets_a_token_over_the_api_by_accession(grant, researcher):
    response = api_client(researcher).post(
        "/api/v1/tokens/", {"dataset": grant.dataset.accession}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Cache-Control"] == "no-store"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = verify_independently(body["access_token"], typ="at+jwt")
    assert claims["jti"] == body["jti"]
    assert claims["grant"] == body["grant"] == grant.pk


def test_api_refusal_says_why(grant, researcher, chair):
    revoke(grant, chair=chair)
    response = api_client(researcher).post(
        "/api/v1/tokens/", {"dataset": grant.dataset.accession}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "The grant was revoked." in response.json()["detail"]


def test_api_without_a_grant_or_a_dataset(grant, outsider, researcher):
    response = api_client(outsider).post(
        "/api/v1/tokens/", {"dataset": grant.dataset.accession}, content_type="application/json"
    )
    assert response.status_code == 403
    assert f"You have no grant for {grant.dataset.accession}." == response.json()["detail"]
    response = api_client(researcher).post("/api/v1/tokens/", {}, content_type="application/json")
    assert response.status_code == 400
    assert "dataset" in response.json()


def test_api_needs_a_signed_in_person_not_an_oauth_client(grant, storage):
    _, bearer = storage
    response = Client().post(
        "/api/v1/tokens/",
        {"dataset": grant.dataset.accession},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {bearer}",
    )
    assert response.status_code in (401, 403)
    assert not IssuedToken.objects.exists()


# --- the portal's "My access" -------------------------------------------------------------------
def test_my_access_has_a_token_button_for_active_grants_only(
    grant, researcher, chair, other_dataset
):
    page = api_client(researcher).get(reverse("access:grant-list")).content.decode()
    url = reverse("tokens:grant-token", kwargs={"pk": grant.pk})
    assert f'action="{url}"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    revoke(grant, chair=chair)
    page = api_client(researcher).get(reverse("access:grant-list")).content.decode()
    assert f'action="{url}"' not in page


def test_the_button_shows_the_token_its_expiry_and_a_curl_example(grant, researcher, settings):
    settings.TESSERA_STORAGE_URL = "https://slides.example.org"
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)
    page = client.get(reverse("access:grant-list")).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    url = reverse("tokens:grant-token", kwargs={"pk": grant.pk})
    assert client.post(url).status_code == 403  # no CSRF token
    assert not IssuedToken.objects.exists()
    response = client.post(url, {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    row = IssuedToken.objects.get()
    token = re.search(r'<textarea id="token"[^>]*>([^<]+)</textarea>', html)[1].strip()
    assert verify_independently(token, typ="at+jwt")["jti"] == row.jti
    assert "curl -H &#x27;Authorization: Bearer " + token in html
    assert f"https://slides.example.org/datasets/{grant.dataset.accession}/" in html
    assert row.expires_at.strftime("%H:%M:%S") in html


def test_the_button_sends_get_to_my_access_and_refuses_other_peoples_grants(
    grant, outsider, researcher, chair
):
    url = reverse("tokens:grant-token", kwargs={"pk": grant.pk})
    response = api_client(researcher).get(url)
    assert response.status_code == 302
    assert response.url == reverse("access:grant-list")
    assert not IssuedToken.objects.exists()
    assert api_client(outsider).post(url).status_code == 404
    revoke(grant, chair=chair)
    response = api_client(researcher).post(url, follow=True)
    assert "The grant was revoked." in response.content.decode()
    assert not IssuedToken.objects.exists()


# --- revocation ---------------------------------------------------------------------------------
def test_revoking_the_grant_revokes_its_tokens_at_once_and_lists_them(
    grant, researcher, chair, storage
):
    _, bearer = storage
    first = token_issue(grant=grant, actor=researcher)
    second = token_issue(grant=grant, actor=researcher)
    assert introspect(bearer, first.token).json()["active"] is True
    revoke(grant, chair=chair)
    assert introspect(bearer, first.token).json() == {"active": False}
    assert introspect(bearer, second.token).json() == {"active": False}
    body = feed(bearer)
    assert {e["jti"] for e in body["revoked"]} == {first.jti, second.jti}
    assert [e["cursor"] for e in body["revoked"]] == sorted(e["cursor"] for e in body["revoked"])
    assert body["next_cursor"] == max(e["cursor"] for e in body["revoked"])
    assert feed(bearer, since=body["next_cursor"])["revoked"] == []
    event = events_of(EventType.TOKEN_REVOKED)[-1]
    assert set(event.payload["jtis"]) == {first.jti, second.jti}
    assert event.payload["cause"] == RevocationCause.GRANT_REVOKED


def test_retiring_the_dataset_revokes_every_derived_token(grant, researcher, storage):
    _, bearer = storage
    issued = token_issue(grant=grant, actor=researcher)
    retire(grant)
    assert introspect(bearer, issued.token).json() == {"active": False}
    revocation = TokenRevocation.objects.get(jti=issued.jti)
    assert revocation.cause == RevocationCause.DATASET_RETIRED
    assert [e["jti"] for e in feed(bearer)["revoked"]] == [issued.jti]


def test_expired_tokens_are_not_swept_into_the_feed(grant, researcher, chair, storage):
    _, bearer = storage
    issued = token_issue(grant=grant, actor=researcher)
    IssuedToken.objects.filter(jti=issued.jti).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoke(grant, chair=chair)
    assert feed(bearer)["revoked"] == []


def test_feed_cursors_grow_and_pages_follow_them(
    submitted, chair, dataset, researcher, teammate, storage
):
    _, bearer = storage
    approve_part(submitted, dataset, chair, days=30)
    accept_all(submitted, teammate)
    jtis = []
    for person in (researcher, teammate):
        g = Grant.objects.get(request=submitted, user=person, dataset=dataset)
        jtis += [token_issue(grant=g, actor=person).jti for _ in range(3)]
        revoke(g, chair=chair)
    seen, since, pages = [], 0, 0
    while True:
        body = feed(bearer, since=since, limit=2)
        seen += [e["jti"] for e in body["revoked"]]
        assert all(e["cursor"] > since for e in body["revoked"])
        since = body["next_cursor"]
        pages += 1
        if not body["has_more"]:
            break
    assert sorted(seen) == sorted(jtis)
    assert pages == 3


def test_feed_needs_a_client_with_the_introspection_scope(researcher, grant):
    assert Client().get(FEED).status_code == 401
    _, passport_only = oauth_client("visas-only", ["ga4gh_passport"])
    assert Client().get(FEED, HTTP_AUTHORIZATION=f"Bearer {passport_only}").status_code == 403
    assert api_client(researcher).get(FEED).status_code == 401
    _, bearer = oauth_client("ok", ["introspection"])
    assert (
        Client().get(FEED, {"since": "x"}, HTTP_AUTHORIZATION=f"Bearer {bearer}").status_code == 400
    )
    assert (
        Client().get(FEED, {"since": "-1"}, HTTP_AUTHORIZATION=f"Bearer {bearer}").status_code
        == 400
    )


def test_a_committee_revoke_from_the_admin_revokes_tokens(grant, researcher, chair, storage):
    _, bearer = storage
    issued = token_issue(grant=grant, actor=researcher)
    client = api_client(chair)
    client.post(
        reverse("admin:access_grant_changelist"),
        {"action": "revoke", "_selected_action": [grant.pk], "reason": "Committee decision."},
    )
    assert Grant.objects.get(pk=grant.pk).revoked_at is not None
    assert introspect(bearer, issued.token).json() == {"active": False}
    assert TokenRevocation.objects.filter(jti=issued.jti).exists()


def test_other_peoples_grants_keep_their_tokens(
    submitted, chair, dataset, other_dataset, researcher, storage
):
    _, bearer = storage
    approve_part(submitted, dataset, chair, days=30)
    someone = factories.user("someone")
    assert someone.is_active
    mine = Grant.objects.get(request=submitted, user=researcher, dataset=dataset)
    issued = token_issue(grant=mine, actor=researcher)
    gov.dataset_retire(dataset=other_dataset, actor=None, reason="Unrelated.")
    assert introspect(bearer, issued.token).json()["active"] is True


# --- the demo's storage client (seed_demo) ------------------------------------------------------
def test_issuing_locks_the_grant_reads_it_and_writes_token_and_event_in_one_statement(
    grant, researcher, settings, django_capture_on_commit_callbacks
):
    """The hot path: the grant's lock, then its state read fresh in a statement of its own (see
    test_token_races), then one statement for the token and its ledger event (PostgreSQL,
    batched sequencing as in production); then the commit. Nothing else goes to the database."""
    settings.AUDIT_SEQUENCING = ledger.BATCHED
    with django_capture_on_commit_callbacks(execute=True):  # the signer is cached on commit
        token_issue(grant=grant, actor=researcher)
    with CaptureQueriesContext(connection) as ctx:
        issued = token_issue(grant=grant, actor=researcher)
    statements = [
        q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    if connection.vendor == "postgresql":
        assert len(statements) == 3, "\n".join(s[:90] for s in statements)
        assert statements[0] == "SELECT 1 FROM access_grant WHERE id = %s FOR UPDATE"
        assert statements[1].startswith('SELECT "access_grant"."id" AS "g_id"')
        assert statements[2].startswith("WITH change AS (INSERT INTO access_issuedtoken")
    token = IssuedToken.objects.get(jti=issued.jti)
    assert (token.grant_id, token.user_id, token.kind) == (
        grant.pk,
        researcher.pk,
        TokenKind.ACCESS,
    )
    assert token.expires_at == issued.expires_at
    assert events_of(EventType.TOKEN_ISSUED)[-1].payload["jti"] == issued.jti


def test_the_button_shares_the_apis_rate_limit(grant, researcher, monkeypatch):
    cache.clear()
    monkeypatch.setattr(TokenThrottle, "rate", "2/min")
    client = api_client(researcher)
    url = reverse("tokens:grant-token", kwargs={"pk": grant.pk})
    assert client.post(url).status_code == 200
    assert client.post(url).status_code == 200
    response = client.post(url, follow=True)
    assert "Too many tokens asked for in the last minute" in response.content.decode()
    assert IssuedToken.objects.count() == 2
    api = client.post(
        "/api/v1/tokens/", {"dataset": grant.dataset.accession}, content_type="application/json"
    )
    assert api.status_code == 429
    assert IssuedToken.objects.count() == 2
    cache.clear()
