"""RFC 7662 introspection: `{"active": false}` for anything not valid right now, with no hint;
every answer recorded in the ledger (with the real reason) before it is sent."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from access.models import Grant
from access.services import grants as grant_services
from audit import events, ledger
from audit.actors import pseudonym_for
from audit.models import AuditEvent
from tokens import keyring, keys
from tokens.choices import KeyState
from tokens.introspection import _VERIFIED
from tokens.issue import PORTAL_CLIENT_ID, token_issue
from tokens.issue import AccessToken as SignedToken
from tokens.models import IssuedToken, SigningKey
from tokens.oauth import client_scopes_set
from tokens.visas import visas_issue

from .token_support import (
    AUDIENCE,
    BASE_URL,
    grant,
    introspect,
    introspection_events,
    last_introspection,
    oauth_client,
    storage,
    token_keys,
)

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict, claims: dict, sign) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def claims_for(issued: SignedToken, **changes) -> dict:
    """The claims of a real token, changed as asked (for forgeries and our own re-signing)."""
    payload = issued.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def sign_with_our_key(claims: dict, *, typ: str | None = "at+jwt") -> str:
    """A token signed by the real active key: only the claims or typ are wrong."""
    use = keyring.signer()
    if typ is None:  # no typ in the header, an honest signature
        header = {"alg": use.alg, "kid": use.kid}
        return compact(header, claims, lambda data: _es256_raw(use.private_key.private_key, data))
    return keys.sign(claims, private_key=use.private_key, kid=use.kid, alg=use.alg, typ=typ)


def _es256_raw(private_key, data: bytes) -> bytes:
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.fixture
def issued(grant, researcher) -> SignedToken:
    return token_issue(grant=grant, actor=researcher)


def assert_inactive(bearer: str, token: str, reason: str) -> None:
    response = introspect(bearer, token)
    assert response.status_code == 200
    assert response.json() == {"active": False}, "no hint of why, ever"
    recorded = last_introspection().payload
    assert recorded["active"] is False
    assert recorded["reason"] == reason, recorded


# --- the active answer --------------------------------------------------------------------------
def test_a_valid_token_is_active_with_its_claims(issued, storage, researcher, grant):
    app, bearer = storage
    response = introspect(bearer, issued.token)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["sub"] == pseudonym_for(researcher)
    assert body["aud"] == AUDIENCE
    assert body["iss"] == BASE_URL
    assert body["scope"] == f"dataset:{grant.dataset.accession}:read"
    assert body["dataset"] == grant.dataset.accession
    assert body["jti"] == issued.jti
    assert body["exp"] == int(issued.expires_at.timestamp())
    assert body["iat"] == int(issued.issued_at.timestamp())
    assert body["client_id"] == PORTAL_CLIENT_ID
    event = last_introspection()
    assert event.actor_id == f"client:{app.pk}"
    assert event.target_id == issued.jti
    assert event.payload == {
        "active": True,
        "reason": "",
        "jti": issued.jti,
        "grant": grant.pk,
        "dataset": grant.dataset.accession,
        "sub": pseudonym_for(researcher),
    }


def test_every_introspection_is_a_ledger_event_active_or_not(issued, storage):
    _, bearer = storage
    before = len(introspection_events())
    for token in (issued.token, "garbage", issued.token + "x", issued.token):
        introspect(bearer, token)
    recorded = introspection_events()[before:]
    assert [e.payload["active"] for e in recorded] == [True, False, False, True]
    assert recorded[1].payload["token_sha256"] == hashlib.sha256(b"garbage").hexdigest()
    assert "jti" not in recorded[1].payload
    assert all("garbage" not in json.dumps(e.payload) for e in recorded[1:2])


def test_the_event_is_recorded_before_the_answer_leaves(issued, storage, monkeypatch):
    _, bearer = storage

    def ledger_down(**kwargs):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(events, "token_introspected", ledger_down)
    with pytest.raises(RuntimeError, match="ledger unavailable"):
        introspect(bearer, issued.token)


# --- every reason to say "inactive" ---------------------------------------------------------------
def test_bad_signature(issued, storage):
    header, payload, signature = issued.token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert_inactive(storage[1], f"{header}.{payload}.{flipped}", "signature")


def test_payload_changed_after_signing(issued, storage, other_dataset):
    header, _, signature = issued.token.split(".")
    forged = claims_for(issued, dataset=other_dataset.accession)
    assert_inactive(
        storage[1], f"{header}.{b64(json.dumps(forged).encode())}.{signature}", "signature"
    )


def test_alg_none_is_refused(issued, storage):
    use = keyring.signer()
    header = b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": use.kid}).encode())
    payload = b64(json.dumps(claims_for(issued)).encode())
    assert_inactive(storage[1], f"{header}.{payload}.", "malformed")
    assert_inactive(storage[1], f"{header}.{payload}.c2ln", "alg")


def test_hs256_signed_with_the_public_key_is_refused(issued, storage):
    """The classic key confusion: an HMAC keyed with our published public key."""
    use = keyring.signer()
    public = use.private_key.private_key.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_bytes = json.dumps(keyring.jwks()["keys"][0]).encode()
    for secret in (pem, jwk_bytes):
        forged = compact(
            {"alg": "HS256", "typ": "at+jwt", "kid": use.kid},
            claims_for(issued),
            lambda data, secret=secret: hmac.new(secret, data, hashlib.sha256).digest(),
        )
        assert_inactive(storage[1], forged, "alg")


def test_rs256_is_refused_when_es256_is_configured(issued, storage):
    attacker = keys.generate("RS256")
    private = keys.import_private(attacker.private_pem, "RS256")
    for kid in (keyring.signer().kid, attacker.kid):
        forged = keys.sign(
            claims_for(issued), private_key=private, kid=kid, alg="RS256", typ="at+jwt"
        )
        assert_inactive(storage[1], forged, "alg")


def test_unknown_kid_is_refused(issued, storage):
    stranger = keys.generate("ES256")
    private = keys.import_private(stranger.private_pem, "ES256")
    forged = keys.sign(
        claims_for(issued), private_key=private, kid=stranger.kid, alg="ES256", typ="at+jwt"
    )
    assert_inactive(storage[1], forged, "kid")
    # Signed by a stranger but naming our kid: the signature fails.
    forged = keys.sign(
        claims_for(issued), private_key=private, kid=keyring.signer().kid, alg="ES256", typ="at+jwt"
    )
    assert_inactive(storage[1], forged, "signature")


def test_missing_kid_is_refused(issued, storage):
    use = keyring.signer()
    forged = compact(
        {"alg": "ES256", "typ": "at+jwt"},
        claims_for(issued),
        lambda data: _es256_raw(use.private_key.private_key, data),
    )
    assert_inactive(storage[1], forged, "kid")


def test_wrong_or_missing_typ_is_refused(issued, storage):
    assert_inactive(storage[1], sign_with_our_key(claims_for(issued), typ="JWT"), "typ")
    assert_inactive(storage[1], sign_with_our_key(claims_for(issued), typ=None), "typ")
    # RFC 9068's long form is the same type.
    long_form = sign_with_our_key(claims_for(issued), typ="application/at+jwt")
    assert introspect(storage[1], long_form).json()["active"] is True


def test_a_visa_is_not_an_access_token(grant, researcher, storage):
    visa = visas_issue(user=researcher, actor=researcher)[0]
    assert_inactive(storage[1], visa, "typ")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"aud": "https://elsewhere.example.org"}, "aud"),
        ({"aud": ["https://elsewhere.example.org"]}, "aud"),
        ({"aud": None}, "aud"),
        ({"aud": []}, "aud"),
        ({"iss": "https://evil.example.org"}, "iss"),
        ({"exp": None}, "claims"),
        ({"exp": "2099-01-01"}, "claims"),
    ],
)
def test_wrong_claims_are_refused(issued, storage, change, reason):
    assert_inactive(storage[1], sign_with_our_key(claims_for(issued, **change)), reason)


def test_a_token_we_never_recorded_is_refused(issued, storage):
    assert_inactive(
        storage[1], sign_with_our_key(claims_for(issued, jti="not-ours")), "unknown_jti"
    )


def test_expired(issued, storage, monkeypatch):
    later = issued.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert_inactive(storage[1], issued.token, "expired")


def test_expired_at_exactly_exp(issued, storage, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: issued.expires_at)
    assert_inactive(storage[1], issued.token, "expired")


def test_not_yet_valid(issued, storage, monkeypatch):
    earlier = issued.issued_at - timedelta(seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: earlier)
    assert_inactive(storage[1], issued.token, "not_yet_valid")


def test_revoked_with_its_grant(issued, storage, grant, chair):
    assert introspect(storage[1], issued.token).json()["active"] is True
    grant_services.grant_revoke(grant=grant, actor=chair, reason="Breach.")
    assert_inactive(storage[1], issued.token, "revoked")


@pytest.mark.parametrize(
    ("make_inactive", "reason"),
    [
        ("ethics", "The ethics approval has expired."),
        ("account", "The account is suspended."),
        ("dates", "The grant has expired."),
    ],
)
def test_grant_no_longer_active_is_read_fresh(issued, storage, grant, make_inactive, reason):
    """No sweep ran (the state changed behind the services' back): introspection still sees it,
    because it reads the grant's state on every call."""
    assert introspect(storage[1], issued.token).json()["active"] is True
    if make_inactive == "ethics":
        type(grant.request).objects.filter(pk=grant.request_id).update(
            ethics_expiry=timezone.localdate() - timedelta(days=1)
        )
    elif make_inactive == "account":
        type(grant.user).objects.filter(pk=grant.user_id).update(is_active=False)
    else:
        Grant.objects.filter(pk=grant.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    assert not IssuedToken.objects.get(jti=issued.jti).revoked_at
    assert_inactive(storage[1], issued.token, f"grant_inactive: {reason}")


def test_a_dropped_key_stops_its_tokens_even_in_a_warm_cache(issued, storage):
    """An emergency drop (key compromised): the public key may still sit in a process's cache,
    but the key's state is read with the token's, fresh."""
    assert introspect(storage[1], issued.token).json()["active"] is True
    kid = keys.unverified_header(issued.token)["kid"]
    SigningKey.objects.filter(kid=kid).update(state=KeyState.DROPPED)
    assert keyring.public_key_for(kid) is not None, "still cached"
    assert_inactive(storage[1], issued.token, "key_dropped")


@pytest.mark.parametrize("junk", ["", "a.b", "a.b.c", "x" * 9000, "é.é.é", "e30.e30.e30"])
def test_junk_is_inactive(storage, junk):
    assert_inactive(storage[1], junk, "malformed" if junk != "e30.e30.e30" else "alg")


# --- who may ask --------------------------------------------------------------------------------
def test_unauthenticated_callers_get_401_and_no_answer(issued, researcher):
    before = len(introspection_events())
    response = introspect(None, issued.token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "active" not in response.json()
    assert introspect("not-a-token", issued.token).status_code == 401
    session = Client()
    session.force_login(researcher)
    assert introspect(None, issued.token, client=session).status_code == 401
    assert len(introspection_events()) == before


def test_an_expired_client_token_gets_401(issued, storage):
    app, bearer = storage
    AccessToken.objects.filter(application=app).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert introspect(bearer, issued.token).status_code == 401


def test_a_revoked_client_token_is_refused_at_once(issued, storage):
    """Client tokens are checked fresh on every call, like everything else on this path."""
    app, bearer = storage
    assert introspect(bearer, issued.token).status_code == 200
    AccessToken.objects.get(application=app).revoke()
    assert introspect(bearer, issued.token).status_code == 401


def test_a_client_token_restricted_to_another_resource_server_is_refused(issued, storage):
    app, bearer = storage
    AccessToken.objects.filter(application=app).update(resource=["https://elsewhere.example.org"])
    assert introspect(bearer, issued.token).status_code == 401


def test_a_client_without_the_introspection_scope_gets_403(issued):
    _, bearer = oauth_client("visas-only", ["ga4gh_passport"])
    response = introspect(bearer, issued.token)
    assert response.status_code == 403
    assert "active" not in response.json()


def test_a_client_credentials_token_from_the_token_endpoint_works(issued, settings):
    """The storage tier's real flow: client id and secret at /o/token/, then introspect."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    app, _ = oauth_client("storage-real", ["introspection"])
    app.refresh_from_db()
    assert app.client_secret != "storage-real-secret", "client secrets are stored hashed"
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "introspection"},
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{app.client_id}:storage-real-secret".encode()).decode(),
    )
    assert response.status_code == 200, response.content
    bearer = response.json()["access_token"]
    assert introspect(bearer, issued.token).json()["active"] is True


def test_only_listed_clients_obtain_the_introspection_scope(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    app = Application.objects.create(
        name="some-tool",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret="some-tool-secret",
    )
    basic = "Basic " + base64.b64encode(f"{app.client_id}:some-tool-secret".encode()).decode()

    def ask(scope):
        return Client().post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": scope},
            HTTP_AUTHORIZATION=basic,
        )

    assert ask("introspection").status_code == 400
    assert ask("ga4gh_passport").status_code == 400
    assert ask("catalogue:read").status_code == 200
    client_scopes_set(application=app, scopes=["introspection"], actor=None)
    assert ask("introspection").json()["scope"] == "introspection"
    assert ask("ga4gh_passport").status_code == 400


# --- the hot path stays lean --------------------------------------------------------------------
def test_grant_state_is_one_fresh_query_and_keys_come_from_the_cache(issued, storage):
    _, bearer = storage
    introspect(bearer, issued.token)  # warms the public-key cache
    with CaptureQueriesContext(connection) as ctx:
        assert introspect(bearer, issued.token).json()["active"] is True
    reads = [
        q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    ]
    grant_reads = [sql for sql in reads if '"access_grant"' in sql]
    assert len(grant_reads) == 1, grant_reads
    assert not [sql for sql in reads if sql.lstrip().startswith('SELECT "access_signingkey"')]


def test_the_answer_matches_an_independent_decoding(issued, storage):
    body = introspect(storage[1], issued.token).json()
    decoded = jwt.decode(issued.token, options={"verify_signature": False})
    for claim in ("sub", "aud", "scope", "dataset", "exp", "iat", "jti", "iss", "nbf"):
        assert body[claim] == decoded[claim]


# --- the early answer (tokens.introspection) and its signature cache ----------------------------
def test_only_form_posts_take_the_early_path_the_rest_get_drf_answers(issued, storage):
    _, bearer = storage
    auth = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"}
    as_json = Client().post(
        "/api/v1/tokens/introspect",
        {"token": issued.token},
        content_type="application/json",
        **auth,
    )
    assert as_json.status_code == 415
    assert Client().get("/api/v1/tokens/introspect", **auth).status_code == 405


def test_without_the_early_path_the_view_answers_the_same(issued, storage, settings):
    """One implementation: where the middleware is not installed, the DRF view hands form
    POSTs to the same function, with the same statuses, bodies, headers and ledger events."""
    _, no_scope = oauth_client("visas-only", ["ga4gh_passport"])
    calls = [
        (storage[1], issued.token),
        (storage[1], "a.b.c"),
        (None, issued.token),
        ("not-a-token", issued.token),
        (no_scope, issued.token),
    ]

    def answers():
        seen = []
        for bearer, token in calls:
            before = AuditEvent.objects.count()
            response = introspect(bearer, token)
            ledger.flush()
            events_written = [
                (e.event_type, e.actor_id, e.payload)
                for e in AuditEvent.objects.order_by("seq")[before:]
            ]
            seen.append(
                (
                    response.status_code,
                    response.json(),
                    response.get("WWW-Authenticate"),
                    response.get("Cache-Control"),
                    events_written,
                )
            )
        return seen

    early = answers()
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "IntrospectionMiddleware" not in m]
    through_the_view = answers()
    assert [a[0] for a in early] == [200, 200, 401, 401, 403]
    assert early[0][1]["active"] is True and early[1][1] == {"active": False}
    assert all(a[4] for a in early), "every call leaves its event"
    assert through_the_view == early


def test_the_early_path_checks_the_host_like_every_other_request(issued, storage):
    response = introspect(storage[1], issued.token, client=Client(HTTP_HOST="evil.example.org"))
    assert response.status_code == 400


def test_the_early_path_sends_no_cookie_and_no_cache(issued, storage):
    response = introspect(storage[1], issued.token)
    assert response.json()["active"] is True
    assert not response.cookies
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


def test_the_signature_cache_is_bounded(grant, researcher, storage, settings):
    settings.TESSERA_VERIFIED_TOKEN_CACHE = 2
    _VERIFIED.clear()
    for _ in range(5):
        token = token_issue(grant=grant, actor=researcher).token
        assert introspect(storage[1], token).json()["active"] is True
        assert 1 <= len(_VERIFIED) <= 2


def test_a_cached_signature_never_outlives_a_change_of_the_pinned_algorithm(
    issued, storage, settings
):
    assert introspect(storage[1], issued.token).json()["active"] is True  # now cached
    settings.TESSERA_TOKEN_ALG = "RS256"
    assert_inactive(storage[1], issued.token, "alg")


def test_with_the_cache_off_every_call_checks_the_signature(issued, storage, settings, monkeypatch):
    settings.TESSERA_VERIFIED_TOKEN_CACHE = 0
    _VERIFIED.clear()
    calls = []
    real = keys.verify
    monkeypatch.setattr(keys, "verify", lambda *a, **k: calls.append(1) or real(*a, **k))
    for _ in range(3):
        assert introspect(storage[1], issued.token).json()["active"] is True
    assert len(calls) == 3 and not _VERIFIED
