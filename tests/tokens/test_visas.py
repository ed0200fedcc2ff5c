"""GA4GH Passport v1.2 ControlledAccessGrants visas: one per active grant, verifiable against the
JWKS named in `jku`, never beyond the grant, for the person themself or a passport client."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.test import Client
from django.utils import timezone

from access.models import Grant
from access.services import decisions as decision_services
from access.services import grants as grant_services
from accounts.services import identity_link
from audit import ledger
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from tests.access_world import accept_all, approve_part
from tokens.choices import TokenKind
from tokens.models import IssuedToken
from tokens.visas import visas_issue

from .token_support import (
    BASE_URL,
    FEED,
    grant,
    oauth_client,
    storage,
    token_keys,
    verify_independently,
)

pytestmark = pytest.mark.django_db
VISA_TYP = "vnd.ga4gh.visa+jwt"


def permissions(user_id: str, *, bearer: str | None = None, as_user=None):
    client = Client()
    if as_user is not None:
        client.force_login(as_user)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
    return client.get(f"/api/v1/ga4gh/permissions/{user_id}", **headers)


@pytest.fixture
def two_grants(submitted, chair, other_chair, dataset, other_dataset, researcher):
    """The researcher's grants on both datasets, from two committees."""
    end = timezone.localdate() + timedelta(days=90)
    for committee_dataset, deciding in ((dataset, chair), (other_dataset, other_chair)):
        review = submitted.reviews.get(committee=committee_dataset.committee)
        decision_services.decision_record(
            review=review, actor=deciding, outcome="approve", end_date=end
        )
    return list(
        Grant.objects.filter(request=submitted, user=researcher).order_by("dataset__accession")
    )


def test_one_visa_per_active_grant_verified_independently(two_grants, researcher, storage):
    _, bearer = storage
    response = permissions(pseudonym_for(researcher), bearer=bearer)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    visas = response.json()["ga4gh_passport_v1"]
    assert len(visas) == 2
    seen = []
    for visa in visas:
        header = jwt.get_unverified_header(visa)
        assert header["jku"] == f"{BASE_URL}/.well-known/jwks.json"
        assert header["kid"]
        claims = verify_independently(visa, typ=VISA_TYP, audience=None)
        assert claims["sub"] == pseudonym_for(researcher)
        assert claims["iss"] == BASE_URL
        body = claims["ga4gh_visa_v1"]
        assert body["type"] == "ControlledAccessGrants"
        assert body["by"] == "dac"
        assert isinstance(body["asserted"], int) and body["asserted"] <= claims["iat"]
        assert "scope" not in claims
        seen.append((body["value"], body["source"]))
    expected = [
        (
            f"{BASE_URL}{g.dataset.get_absolute_url()}",
            f"{BASE_URL}{g.decision.review.committee.get_absolute_url()}",
        )
        for g in two_grants
    ]
    assert sorted(seen) == sorted(expected)


def test_visas_are_recorded_with_ledger_events(two_grants, researcher, storage):
    app, bearer = storage
    visas = permissions(pseudonym_for(researcher), bearer=bearer).json()["ga4gh_passport_v1"]
    jtis = {jwt.decode(v, options={"verify_signature": False})["jti"] for v in visas}
    rows = IssuedToken.objects.filter(kind=TokenKind.VISA)
    assert {r.jti for r in rows} == jtis
    ledger.flush()
    recorded = AuditEvent.objects.filter(event_type=EventType.VISA_ISSUED)
    assert {e.payload["jti"] for e in recorded} == jtis
    assert {e.actor_id for e in recorded} == {f"client:{app.pk}"}


def test_visa_never_outlives_the_grant_nor_the_visa_lifetime(grant, researcher, settings):
    settings.TESSERA_VISA_LIFETIME = timedelta(minutes=20)
    (visa,) = visas_issue(user=researcher, actor=researcher)
    claims = verify_independently(visa, typ=VISA_TYP, audience=None)
    assert claims["exp"] - claims["iat"] == 20 * 60
    ends = timezone.now().replace(microsecond=0) + timedelta(minutes=5)
    Grant.objects.filter(pk=grant.pk).update(valid_until=ends)
    (visa,) = visas_issue(user=researcher, actor=researcher)
    assert verify_independently(visa, typ=VISA_TYP, audience=None)["exp"] == int(ends.timestamp())


def test_inactive_grants_get_no_visa(two_grants, researcher, chair):
    grant_services.grant_revoke(grant=two_grants[0], actor=chair, reason="Ended early.")
    visas = visas_issue(user=researcher, actor=researcher)
    assert len(visas) == 1
    claims = verify_independently(visas[0], typ=VISA_TYP, audience=None)
    assert claims["ga4gh_visa_v1"]["value"].endswith(two_grants[1].dataset.get_absolute_url())


def test_a_person_without_active_grants_has_an_empty_passport(researcher, storage):
    response = permissions(pseudonym_for(researcher), bearer=storage[1])
    assert response.json() == {"ga4gh_passport_v1": []}


def test_revoking_a_grant_lists_its_visas_in_the_feed(grant, researcher, chair, storage):
    (visa,) = visas_issue(user=researcher, actor=researcher)
    jti = jwt.decode(visa, options={"verify_signature": False})["jti"]
    grant_services.grant_revoke(grant=grant, actor=chair, reason="Ended early.")
    body = Client().get(FEED, HTTP_AUTHORIZATION=f"Bearer {storage[1]}").json()
    assert jti in {e["jti"] for e in body["revoked"]}


# --- who may ask --------------------------------------------------------------------------------
def test_the_person_themself_by_username_or_pseudonym(grant, researcher):
    for name in (researcher.username, pseudonym_for(researcher)):
        response = permissions(name, as_user=researcher)
        assert response.status_code == 200
        assert len(response.json()["ga4gh_passport_v1"]) == 1


def test_another_person_gets_404_for_someone_elses_visas(grant, researcher, outsider):
    for name in (researcher.username, pseudonym_for(researcher)):
        assert permissions(name, as_user=outsider).status_code == 404
    assert not IssuedToken.objects.filter(kind=TokenKind.VISA).exists()


def test_clients_ask_by_pseudonym_never_by_username(grant, researcher, storage):
    assert permissions(researcher.username, bearer=storage[1]).status_code == 404
    assert permissions("0" * 32, bearer=storage[1]).status_code == 404


def test_a_client_without_the_passport_scope_gets_403(grant, researcher):
    _, bearer = oauth_client("introspection-only", ["introspection"])
    assert permissions(pseudonym_for(researcher), bearer=bearer).status_code == 403
    assert not IssuedToken.objects.filter(kind=TokenKind.VISA).exists()


def test_anonymous_callers_get_401(grant, researcher):
    response = permissions(pseudonym_for(researcher))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_teammate_visa_waits_for_their_agreement(submitted, chair, dataset, teammate):
    approve_part(submitted, dataset, chair, days=30)
    assert visas_issue(user=teammate, actor=teammate) == []
    accept_all(submitted, teammate)
    assert len(visas_issue(user=teammate, actor=teammate)) == 1


def test_odd_user_ids_are_404_not_errors(grant, storage):
    for odd in ("%00abc", "a" * 500, "%F0%9F%98%80", "..%2F..%2Fadmin"):
        assert permissions(odd, bearer=storage[1]).status_code in (400, 404), odd


# --- the federated subject ------------------------------------------------------------------------
LS_ISSUER = "https://login.aai.lifescience-ri.eu/oidc"
LS_ID = "3f1c0de2a4b56789@lifescience-ri.eu"


def test_a_person_with_an_identity_gets_visas_naming_their_ls_id(
    grant, researcher, storage, settings
):
    """`sub` is their subject at the site's identity provider (as LS Login's passport broker
    and REMS expect), verified with PyJWT against our JWKS; access tokens and the ledger keep
    the pseudonym."""
    settings.TESSERA_OIDC_ISSUER = LS_ISSUER
    identity_link(user=researcher, issuer=LS_ISSUER, subject=LS_ID, claims={}, actor=None)
    _, bearer = storage
    (visa,) = permissions(pseudonym_for(researcher), bearer=bearer).json()["ga4gh_passport_v1"]
    claims = verify_independently(visa, typ=VISA_TYP, audience=None)
    assert claims["sub"] == LS_ID
    ledger.flush()
    (event,) = AuditEvent.objects.filter(event_type=EventType.VISA_ISSUED)
    assert event.payload["holder"] == pseudonym_for(researcher)
    assert LS_ID not in str(event.payload)
    # The person may ask for their own visas by that subject too.
    assert permissions(LS_ID, as_user=researcher).status_code == 200


def test_an_identity_at_another_provider_does_not_name_the_visas(grant, researcher, settings):
    settings.TESSERA_OIDC_ISSUER = LS_ISSUER
    identity_link(
        user=researcher, issuer="https://other.example", subject=LS_ID, claims={}, actor=None
    )
    (visa,) = visas_issue(user=researcher, actor=researcher)
    assert verify_independently(visa, typ=VISA_TYP, audience=None)["sub"] == pseudonym_for(
        researcher
    )
