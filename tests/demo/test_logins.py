"""The demo's storage client gets its scopes at the token endpoint and introspects a researcher's
token; the demo reuses a researcher's active grant; the logins table prints its credentials."""

from __future__ import annotations

import base64

from django.test import Client
from oauth2_provider.models import Application

from demo import logins
from demo.data import STORAGE_CLIENT_ID, STORAGE_CLIENT_SECRET
from tests.tokens.token_support import (  # noqa: F401 (fixtures)
    grant,
    introspect,
    token_keys,
)
from tokens.issue import token_issue


def test_demo_storage_client_gets_its_scopes_at_the_token_endpoint(grant, researcher, settings):  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert logins.storage_client(actor=None) is True
    assert logins.storage_client(actor=None) is False, "a second run makes nothing"
    app = Application.objects.get(client_id=STORAGE_CLIENT_ID)
    assert app.client_secret != STORAGE_CLIENT_SECRET, "stored hashed"
    basic = base64.b64encode(f"{STORAGE_CLIENT_ID}:{STORAGE_CLIENT_SECRET}".encode()).decode()
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "introspection ga4gh_passport"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    assert set(response.json()["scope"].split()) == {"introspection", "ga4gh_passport"}
    issued = token_issue(grant=grant, actor=researcher)
    assert introspect(response.json()["access_token"], issued.token).json()["active"] is True
    # researcher already has an active grant: the demo reuses it
    assert logins.researcher_grant(researcher=researcher, decider=None) is False
    assert STORAGE_CLIENT_SECRET in logins.logins_table()
