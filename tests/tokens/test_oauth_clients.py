"""OAuth clients are registered by administrators only, and the privileged scopes belong to an
application's primary key, not to a client_id string that a new registration could reuse."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from tokens.models import ClientScopes
from tokens.oauth import client_scopes_set

from .token_support import FEED, introspect, oauth_client, token_keys  # noqa: F401

pytestmark = pytest.mark.django_db


def ask_token(client_id: str, secret: str, scope: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


# --- no self-service registration, no half-configured OIDC routes --------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/o/applications/",
        "/o/applications/register/",
        "/o/authorized_tokens/",
        "/o/register/",
        "/o/introspect/",
        "/o/device-authorization/",
        "/o/.well-known/openid-configuration",
        "/o/.well-known/openid-configuration/",
        "/o/.well-known/jwks.json",
        "/o/userinfo/",
        "/o/logout/",
    ],
)
def test_oauth_routes_beyond_authorize_token_and_revoke_are_gone(path, researcher):
    browser = Client()
    browser.force_login(researcher)
    assert browser.get(path).status_code == 404
    assert browser.post(path, {"name": "evil", "client_type": "public"}).status_code == 404
    assert not Application.objects.exists()


def test_the_token_endpoints_remain(researcher):
    assert Client().post("/o/token/", {"grant_type": "client_credentials"}).status_code == 401
    assert Client().post("/o/revoke_token/", {"token": "x"}).status_code in (400, 401)
    browser = Client()
    browser.force_login(researcher)
    # No client_id: DOT's error page, not a 404 or a 500.
    assert browser.get("/o/authorize/").status_code == 400


# --- registration by an administrator -----------------------------------------------------------
def test_oauth_client_create_prints_the_secret_once_and_records_the_registration(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = io.StringIO()
    call_command(
        "oauth_client_create",
        "Storage tier (test)",
        "--grant-type=client-credentials",
        "--scope=introspection",
        stdout=out,
    )
    lines = dict(line.split(None, 1) for line in out.getvalue().splitlines()[:2])
    app = Application.objects.get(client_id=lines["client_id"])
    secret = lines["client_secret"]
    assert app.client_secret != secret, "stored hashed"
    assert app.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    assert ClientScopes.objects.get(application=app).scopes == "introspection"
    granted = ask_token(app.client_id, secret, "introspection")
    assert granted.status_code == 200, granted.content
    assert ask_token(app.client_id, secret, "ga4gh_passport").status_code == 400
    ledger.flush()
    registered = AuditEvent.objects.get(event_type=EventType.CLIENT_REGISTERED)
    assert registered.target_id == str(app.pk)
    assert registered.payload["client"] == f"client:{app.pk}"
    assert registered.payload["scopes"] == ["introspection"]
    assert secret not in str(registered.payload)
    assert AuditEvent.objects.filter(event_type=EventType.CLIENT_SCOPES_CHANGED).exists()


def test_oauth_client_create_refuses_an_authorization_code_client_without_redirect_uri():
    with pytest.raises(CommandError, match="redirect"):
        call_command("oauth_client_create", "Tool", "--grant-type=authorization-code")
    assert not Application.objects.exists()


# --- privileged scopes by primary key -----------------------------------------------------------
def test_a_new_registration_reusing_a_client_id_gets_no_privileged_scope(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    original, _ = oauth_client("storage", ["introspection"])
    client_id = original.client_id
    assert ask_token(client_id, "storage-secret", "introspection").status_code == 200
    original.delete()
    assert not ClientScopes.objects.exists(), "the grant of the scope went with the application"

    impostor = Application.objects.create(
        client_id=client_id,
        name="someone else's tool",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret="impostor-secret",
    )
    assert ask_token(client_id, "impostor-secret", "introspection").status_code == 400
    assert ask_token(client_id, "impostor-secret", "ga4gh_passport").status_code == 400
    # Even a token minted with the scope by other means is refused at the endpoint.
    AccessToken.objects.create(
        application=impostor,
        token="impostor-bearer",
        scope="introspection",
        expires=timezone.now() + timedelta(hours=1),
    )
    assert introspect("impostor-bearer", "anything").status_code == 403


def test_taking_a_privileged_scope_away_stops_outstanding_tokens_at_once():
    app, bearer = oauth_client("storage", ["introspection"])
    assert introspect(bearer, "anything").status_code == 200
    client_scopes_set(application=app, scopes=[], actor=None)
    assert introspect(bearer, "anything").status_code == 403
    feed = Client().get(FEED, {"since": 0}, HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert feed.status_code == 403


# --- the admin: superusers only -----------------------------------------------------------------
def test_only_superusers_register_clients_in_the_admin(chair, admin_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    add = "/admin/oauth2_provider/application/add/"
    staff = Client()
    staff.force_login(chair)  # is_staff, not a superuser
    assert staff.get(add).status_code in (403, 404)
    superuser = Client()
    superuser.force_login(admin_user)
    form = superuser.get(add)
    assert form.status_code == 200
    response = superuser.post(
        add,
        {
            "client_id": "storage-admin",
            "client_secret": "a-long-enough-secret",
            "name": "Storage tier (admin)",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
            "algorithm": "",
            "hash_client_secret": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    app = Application.objects.get()
    ledger.flush()
    registered = AuditEvent.objects.get(event_type=EventType.CLIENT_REGISTERED)
    assert registered.target_id == str(app.pk)
