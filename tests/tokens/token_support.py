"""Shared set-up for the token tests: a key-encryption key and a fresh keyring per test, an
approved grant, storage-tier OAuth clients, the revocation feed, the ledger's events, and an
independent verifier (PyJWT, not joserfc).

Import the fixtures into a test module by name (`from .token_support import ...`); the
autouse `token_keys` then applies to that module.
"""

from __future__ import annotations

import base64
import os
import secrets
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from access.models import Grant
from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from tests.access_world import approve_part
from tokens import keyring, keys
from tokens.oauth import PRIVILEGED_SCOPES, client_scopes_set

BASE_URL = "https://tessera.example.org"
AUDIENCE = "urn:tessera:storage"
INTROSPECT = "/api/v1/tokens/introspect"
FEED = "/api/v1/tokens/revoked"
JWKS = "/.well-known/jwks.json"


@pytest.fixture(autouse=True)
def token_keys(db, settings):
    """A random KEK in the settings, empty caches, and a bootstrapped keyring."""
    settings.TESSERA_KEY_ENCRYPTION_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS = None
    settings.TESSERA_BASE_URL = BASE_URL
    settings.TESSERA_TOKEN_AUDIENCE = [AUDIENCE]
    settings.TESSERA_TOKEN_ALG = "ES256"
    keys.reset_kek_cache()
    keyring.reset_caches()
    keyring.keys_bootstrap(actor=None)
    yield
    keys.reset_kek_cache()
    keyring.reset_caches()


@pytest.fixture
def grant(submitted, chair, dataset, researcher) -> Grant:
    """The researcher's active grant on `dataset`, approved by its committee's chair."""
    approve_part(submitted, dataset, chair)
    found = Grant.objects.get(request=submitted, user=researcher, dataset=dataset)
    assert found.is_active
    return found


def oauth_client(name: str, scopes: list[str]) -> tuple[Application, str]:
    """A confidential client-credentials application and a bearer token with these scopes."""
    app = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=f"{name}-secret",
    )
    client_scopes_set(
        application=app, scopes=[s for s in scopes if s in PRIVILEGED_SCOPES], actor=None
    )
    raw = secrets.token_urlsafe(24)
    AccessToken.objects.create(
        application=app,
        token=raw,
        expires=timezone.now() + timedelta(days=1),  # outlives the tests that move the clock
        scope=" ".join(scopes),
    )
    return app, raw


@pytest.fixture
def storage():
    """The storage tier: a client with the introspection and passport scopes."""
    return oauth_client("storage", ["introspection", "ga4gh_passport"])


def api_client(user) -> Client:
    """A browser session signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


def events_of(event_type, **filters) -> list[AuditEvent]:
    ledger.flush()
    return list(AuditEvent.objects.filter(event_type=event_type, **filters).order_by("seq"))


def feed(bearer: str, since=0, **params) -> dict:
    """The revocation feed as the client with this bearer token reads it."""
    response = Client().get(FEED, {"since": since, **params}, HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert response.status_code == 200, response.content
    return response.json()


def introspect(bearer: str | None, token: str, client: Client | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
    return (client or Client()).post(
        INTROSPECT,
        urlencode({"token": token}),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )


def introspection_events() -> list[AuditEvent]:
    ledger.flush()
    return list(AuditEvent.objects.filter(event_type=EventType.TOKEN_INTROSPECTED).order_by("seq"))


def last_introspection() -> AuditEvent:
    return introspection_events()[-1]


def published_jwks(client: Client | None = None) -> jwt.PyJWKSet:
    response = (client or Client()).get(JWKS)
    assert response.status_code == 200
    return jwt.PyJWKSet.from_dict(response.json())


def verify_independently(
    token: str, *, typ: str, audience: str | None = AUDIENCE, alg: str = "ES256"
) -> dict:
    """Decode with PyJWT against the JWKS as published over HTTP: our signing code plays no
    part. Raises if the signature, algorithm, kid, typ, issuer, audience or times are wrong."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == typ
    key = published_jwks()[header["kid"]]
    options = {"require": ["exp", "iat", "iss", "sub", "jti"]}
    if audience is None:
        options["verify_aud"] = False
    return jwt.decode(
        token,
        key.key,
        algorithms=[alg],
        audience=audience,
        issuer=BASE_URL,
        options=options,
    )
