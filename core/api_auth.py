"""How the REST API authenticates OAuth tokens, limits them to their scopes and throttles them.

- `OAuth2Authentication` (django-oauth-toolkit's, plus one thing): a request authenticated by
  an OAuth token binds the token's application into the audit context, so every ledger event
  written during that action names the client beside the person (`oauth_client` in the event's
  payload, added in one place: `audit.ledger.append`).
- `TokenScopes` (modelled on DOT's `TokenHasScope`): session-authenticated people pass as
  before (the view's other permission classes decide); a request authenticated by an OAuth
  token must hold the scopes the view declares for the action. A view declares them as
  `token_scopes = {"list": [...], "decide": [...]}` (by viewset action, or by HTTP method for a
  plain APIView) or as one `required_scopes` list. A view, or an action, that declares nothing
  refuses tokens: it fails closed. An empty list means "any token" (public data).
- Throttles: `anon` by address, `user` by person, `client` by OAuth application. A machine
  client (a client-credentials token, no person) counts against `client` only, so the storage
  tier is not throttled by the address it shares with others. Rates are read from
  REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at each call (settings overrides apply).
"""

from __future__ import annotations

from dataclasses import replace

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication as DOTAuthentication
from oauth2_provider.models import AbstractAccessToken
from rest_framework.permissions import BasePermission
from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

from core import context
from core.client_address import client_address
from core.scopes import PUBLIC_SCOPES


class OAuth2Authentication(DOTAuthentication):
    """DOT's bearer-token authentication; binds the client into the audit context.

    The binding is undone with the rest of the request's context by
    `audit.middleware.RequestContextMiddleware`."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            _, token = result
            context.bind(replace(context.current(), oauth_application_id=token.application_id))
        return result


class OneOf(tuple):
    """A declaration met by any one of these scopes; the action then asks for the one its
    use needs (`token_allows`), e.g. a comment as applicant or as committee."""


def declared_scopes(view, request):
    """What a token needs for this request to `view`: a list (all of), a `OneOf`, or None if
    the view (or this action of it) does not accept tokens."""
    by_action = getattr(view, "token_scopes", None)
    if by_action is not None:
        action = getattr(view, "action", None) or request.method.lower()
        if action == "metadata":  # OPTIONS describes the endpoint, it reads nothing
            return []
        return by_action.get(action)
    return getattr(view, "required_scopes", None)


def _scope_bearing(auth) -> bool:
    return isinstance(auth, AbstractAccessToken) or hasattr(auth, "allow_scopes")


def token_allows(request, *scopes: str) -> bool:
    """True for a person's session; for an OAuth token, whether it holds all of `scopes`."""
    return not _scope_bearing(request.auth) or request.auth.allow_scopes(scopes)


class TokenScopes(BasePermission):
    """A request made with an OAuth token needs the scopes the view declares for the action."""

    message = "This token's scopes do not allow this."

    def has_permission(self, request, view):
        token = request.auth
        if not _scope_bearing(token):
            return True  # a person's session (or nobody): the other permission classes decide
        required = declared_scopes(view, request)
        if required is None:
            self.message = "This endpoint does not accept OAuth tokens."
            return False
        if isinstance(required, OneOf):
            allowed = any(token.allow_scopes([scope]) for scope in required)
        else:
            allowed = token.allow_scopes(list(required))
        if not allowed:
            self.message = {
                "detail": "This token lacks the scope this needs.",
                "required_scopes": list(required),
            }
        return allowed


# --- throttles --------------------------------------------------------------------------------
def _machine_client(request) -> bool:
    """A client acting for no person (client credentials, or the storage tier's bearer)."""
    return _scope_bearing(request.auth) and not getattr(request.user, "is_authenticated", False)


class _LiveRate:
    def get_rate(self):
        # DRF reads the rates once, at import; read them per call so settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ClientAddressIdent:
    """Count anonymous callers by `core.client_address`: DRF's own `get_ident` believes any
    X-Forwarded-For, so a caller naming a fresh address per request would never be throttled."""

    def get_ident(self, request):
        return client_address(request)


class ScopedThrottle(ClientAddressIdent, ScopedRateThrottle):
    """DRF's scoped throttle (`throttle_scope` on the view), counting addresses as above."""


class AnonThrottle(ClientAddressIdent, _LiveRate, AnonRateThrottle):
    """`anon`: requests by nobody, per address."""

    def get_cache_key(self, request, view):
        if _machine_client(request):
            return None
        return super().get_cache_key(request, view)


class UserThrottle(ClientAddressIdent, _LiveRate, UserRateThrottle):
    """`user`: requests by a person (session or token), per person."""

    def get_cache_key(self, request, view):
        if not getattr(request.user, "is_authenticated", False):
            return None
        return super().get_cache_key(request, view)


class ClientThrottle(_LiveRate, SimpleRateThrottle):
    """`client`: requests made with an OAuth token, per application (generous: the storage
    tier introspects and polls the revocation feed at machine speed)."""

    scope = "client"

    def get_cache_key(self, request, view):  # noqa: ARG002 - DRF throttle hook
        auth = request.auth
        if not _scope_bearing(auth):
            return None
        application = getattr(auth, "application_id", None)
        return self.cache_format % {"scope": self.scope, "ident": application}


# --- the OpenAPI schema -----------------------------------------------------------------------
class OAuth2Scheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes `OAuth2Authentication`: the scopes each operation
    declares (an operation that declares none is left without the OAuth requirement)."""

    target_class = "core.api_auth.OAuth2Authentication"
    name = "oauth2"

    def get_security_requirement(self, auto_schema):
        view = auto_schema.view

        class _Request:
            method = auto_schema.method

        required = declared_scopes(view, _Request)
        if required is None:
            return None
        if isinstance(required, OneOf):
            return [{self.name: [scope]} for scope in required]
        return {self.name: list(required)}

    def get_security_definition(self, auto_schema):  # noqa: ARG002 - drf-spectacular's hook
        return {
            "type": "oauth2",
            "description": "Tokens for clients an administrator registered; see "
            "docs/oauth-clients.md.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/o/authorize/",
                    "tokenUrl": "/o/token/",
                    "scopes": dict(PUBLIC_SCOPES),
                }
            },
        }
