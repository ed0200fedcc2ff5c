"""Which OAuth clients may hold the storage tier's scopes, and how they authenticate.

django-oauth-toolkit's default scopes backend offers every scope to every client, so any
registered application could ask `/o/token/` for `introspection` and read who accesses what.
Here the privileged scopes are offered only to the clients listed in `ClientScopes`; the others
get the public scopes alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from oauth2_provider.scopes import SettingsScopes
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from audit import events
from audit.actors import Actor
from audit.choices import ActorKind

from .models import ClientScopes
from .prepared import prepared

PRIVILEGED_SCOPES = ("introspection", "ga4gh_passport")


class ClientScopesBackend(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        public = [
            s
            for s in super().get_available_scopes(application, request)
            if s not in PRIVILEGED_SCOPES
        ]
        if application is None:
            return public
        row = ClientScopes.objects.filter(client_id=application.client_id).first()
        allowed = set(row.scopes.split()) if row else set()
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
    row, _ = ClientScopes.objects.select_for_update().get_or_create(client_id=application.client_id)
    previous = row.scopes.split()
    wanted = [s for s in PRIVILEGED_SCOPES if s in scopes]
    if wanted != previous:
        row.scopes = " ".join(wanted)
        row.save(update_fields=["scopes", "updated_at"])
        events.client_scopes_changed(
            application=application, actor=actor, scopes=wanted, previous=previous
        )
    return row


# --- authenticating storage clients on the hot path -------------------------------------------
@dataclass(frozen=True)
class ClientToken:
    """A storage client's valid OAuth2 access token: who it is and what it may do."""

    client_id: str
    scopes: frozenset[str]

    @property
    def actor(self) -> Actor:
        # The same id `audit.actors.actor_for(application)` gives the client.
        return Actor(id=f"client:{self.client_id}", kind=ActorKind.CLIENT)

    def allow_scopes(self, scopes) -> bool:
        return set(scopes) <= self.scopes


def client_token_query(checksum):
    from oauth2_provider.models import get_access_token_model

    model = get_access_token_model()
    # RFC 8707 resource restrictions exist from django-oauth-toolkit 3.1 on.
    fields = ["expires", "scope"] + (["resource"] if hasattr(model, "resource") else [])
    return (
        model.objects.filter(token_checksum=checksum)
        .order_by()
        .values(*fields, client_id=F("application__client_id"))
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
    return ClientToken(client_id=row["client_id"], scopes=frozenset(row["scope"].split()))


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

    def authenticate_header(self, request):
        return 'Bearer realm="tessera"'


class ClientHasScope(BasePermission):
    """The view's `required_scopes` are all in the client's token."""

    message = "This client's token lacks the required scope."

    def has_permission(self, request, view):
        client = request.auth
        return isinstance(client, ClientToken) and client.allow_scopes(view.required_scopes)
