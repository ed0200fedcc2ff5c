"""Which OAuth clients may hold the storage tier's scopes, and how they authenticate.

django-oauth-toolkit's default scopes backend offers every scope to every client, so any
registered application could ask `/o/token/` for `introspection` and read who accesses what.
Here the privileged scopes (core.scopes.PRIVILEGED_SCOPES) are offered only to the
applications listed in `ClientScopes`, by primary key; the others get the public scopes alone.
The storage tier's endpoints check the same row again on every call, so taking a scope away
(or deleting the application) takes effect at once, whatever tokens are outstanding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.scopes import SettingsScopes
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from audit import events
from audit.actors import Actor, client_actor_id
from audit.choices import ActorKind
from core.scopes import PRIVILEGED_SCOPES as PRIVILEGED
from core.scopes import SCOPES

from .models import ClientScopes
from .prepared import prepared

PRIVILEGED_SCOPES = tuple(PRIVILEGED)


def privileged_scopes_of(application) -> set[str]:
    """The privileged scopes an administrator let this application (by primary key) hold."""
    row = ClientScopes.objects.filter(application_id=application.pk).first()
    return set(row.scopes.split()) if row else set()


class ClientScopesBackend(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        public = [
            s
            for s in super().get_available_scopes(application, request)
            if s not in PRIVILEGED_SCOPES
        ]
        if application is None:
            return public
        allowed = privileged_scopes_of(application)
        return public + [s for s in PRIVILEGED_SCOPES if s in allowed]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        available = set(self.get_available_scopes(application, request))
        return [s for s in super().get_default_scopes(application, request) if s in available]


@transaction.atomic
def client_scopes_set(*, application, scopes: list[str], actor) -> ClientScopes:
    """Let an OAuth client obtain these privileged scopes (and no others)."""
    unknown = set(scopes) - set(PRIVILEGED_SCOPES)
    if unknown:
        raise ValidationError({"scopes": f"Not a privileged scope: {', '.join(sorted(unknown))}."})
    row, _ = ClientScopes.objects.select_for_update().get_or_create(application=application)
    previous = row.scopes.split()
    wanted = [s for s in PRIVILEGED_SCOPES if s in scopes]
    if wanted != previous:
        row.scopes = " ".join(wanted)
        row.save(update_fields=["scopes", "updated_at"])
        events.client_scopes_changed(
            application=application, actor=actor, scopes=wanted, previous=previous
        )
    return row


@dataclass(frozen=True)
class RegisteredClient:
    """A new OAuth application and its client secret, which is shown once and stored hashed."""

    application: object
    client_secret: str


GRANT_TYPES = ("authorization-code", "client-credentials")


@transaction.atomic
def client_register(
    *,
    name: str,
    grant_type: str,
    scopes: list[str],
    actor,
    redirect_uris: str = "",
    confidential: bool = True,
) -> RegisteredClient:
    """Register an OAuth client (administrators only: the admin or `oauth_client_create`).

    Every client may ask for the public scopes (the person authorising it limits it further);
    the privileged scopes in `scopes` are granted to this application in `ClientScopes`."""
    Application = get_application_model()
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope: {', '.join(sorted(unknown))}."})
    grant = {
        "authorization-code": Application.GRANT_AUTHORIZATION_CODE,
        "client-credentials": Application.GRANT_CLIENT_CREDENTIALS,
    }.get(grant_type)
    if grant is None:
        raise ValidationError({"grant_type": f"Use one of: {', '.join(GRANT_TYPES)}."})
    if grant == Application.GRANT_AUTHORIZATION_CODE and not redirect_uris.strip():
        raise ValidationError(
            {"redirect_uris": "An authorization-code client needs a redirect URI."}
        )
    if grant == Application.GRANT_CLIENT_CREDENTIALS and not confidential:
        raise ValidationError({"grant_type": "A client-credentials client is confidential."})
    secret = generate_client_secret()
    application = Application(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC,
        authorization_grant_type=grant,
        redirect_uris=redirect_uris.strip(),
        client_secret=secret,  # hashed when saved (django-oauth-toolkit >= 2)
        hash_client_secret=True,
    )
    application.full_clean()
    application.save()
    events.client_registered(application=application, actor=actor, scopes=scopes)
    privileged = [s for s in scopes if s in PRIVILEGED_SCOPES]
    if privileged:
        client_scopes_set(application=application, scopes=privileged, actor=actor)
    return RegisteredClient(application=application, client_secret=secret)


# --- authenticating storage clients on the hot path -------------------------------------------
@dataclass(frozen=True)
class ClientToken:
    """A storage client's valid OAuth2 access token: which application, and what it may do."""

    application_id: int
    client_id: str
    scopes: frozenset[str]

    @property
    def actor(self) -> Actor:
        # The same id `audit.actors.actor_for(application)` gives the client.
        return Actor(id=client_actor_id(self.application_id), kind=ActorKind.CLIENT)

    def allow_scopes(self, scopes) -> bool:
        return set(scopes) <= self.scopes


def client_token_query(checksum):
    model = get_access_token_model()
    # RFC 8707 resource restrictions exist from django-oauth-toolkit 3.1 on.
    fields = ["expires", "scope", "application_id"]
    fields += ["resource"] if hasattr(model, "resource") else []
    return (
        model.objects.filter(token_checksum=checksum)
        .order_by()
        .values(
            *fields,
            client_id=F("application__client_id"),
            # The privileged scopes this application may hold now (a LEFT JOIN by its pk).
            privileged=F("application__client_scopes__scopes"),
        )
    )


def bearer_checksum(token: str) -> str:
    """How django-oauth-toolkit finds an access token: the SHA-256 of its text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def client_for_row(row, now) -> ClientToken | None:
    """The client of a `client_token_query` row, if its token is valid at `now`. Tokens
    restricted to other resource servers (RFC 8707) are refused."""
    if row is None or row["client_id"] is None or row.get("resource"):
        return None
    if row["expires"] is None or now >= row["expires"]:
        return None
    scopes = set(row["scope"].split())
    # A privileged scope counts only while the application's ClientScopes row still lists it.
    scopes -= set(PRIVILEGED_SCOPES) - set((row.get("privileged") or "").split())
    return ClientToken(
        application_id=row["application_id"],
        client_id=row["client_id"],
        scopes=frozenset(scopes),
    )


def client_for_bearer(token: str) -> ClientToken | None:
    """The client holding this OAuth2 access token, if the token is valid now.

    django-oauth-toolkit's own check builds a select_related query per request (about half of
    an introspection's CPU); this is the same lookup (SHA-256 checksum, expiry, scopes) as one
    prepared statement. Nothing is cached: a revoked or expired client token fails at once."""
    if not token or len(token) > 512:
        return None
    row = prepared("client_token", client_token_query, "tessera:checksum-sentinel").fetch(
        bearer_checksum(token)
    )
    return client_for_row(row, timezone.now())


class ClientBearerAuthentication(BaseAuthentication):
    """DRF authentication for storage clients: `Authorization: Bearer <client token>`."""

    def authenticate(self, request):
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        client = client_for_bearer(token.strip())
        if client is None:
            raise AuthenticationFailed("The access token is invalid or expired.")
        return (None, client)

    def authenticate_header(self, request):  # noqa: ARG002 - DRF authentication hook
        return 'Bearer realm="tessera"'


class ClientHasScope(BasePermission):
    """The view's `required_scopes` are all in the client's token."""

    message = "This client's token lacks the required scope."

    def has_permission(self, request, view):
        client = request.auth
        return isinstance(client, ClientToken) and client.allow_scopes(view.required_scopes)
