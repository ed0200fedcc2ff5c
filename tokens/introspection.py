"""The storage tier's hottest call, `POST /api/v1/tokens/introspect`, answered early.

`introspection_response` is the endpoint's one implementation over HTTP (the Host check, the
bearer, 401 and 403 with their recorded refusals, the RFC 7662 answer from
`token_introspect`, below). Two ways lead to it:

- `IntrospectionMiddleware`, for every form-encoded POST to the exact path. It sits after
  SecurityMiddleware (HTTPS redirect, HSTS), RequestContextMiddleware (request id and client
  address for the ledger) and NulCharacterMiddleware, and before sessions, CSRF, user
  authentication, messages and django-auditlog, none of which this call uses: the storage tier
  authenticates with an OAuth2 bearer token, sends no cookie and changes no model.
- The DRF view (`tokens.api.tokens.IntrospectView`), for everything else: it documents the
  endpoint in the OpenAPI schema and answers other methods and content types with DRF's own
  errors (401 and 403 first, recorded the same way, then 405 or 415). A form POST reaches it
  only where the middleware is not installed, and it then hands the request to this function.

Per call: the signature check (CPU only, cached by token text, see `_verified_claims`), one query
reading both the client's OAuth token and the introspected token's state, and the ledger event's
INSERT, which commits by itself before the answer is sent. Nothing that can change is cached.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone

from access.lifecycle import grant_inactive_reason
from audit import events
from audit.refusals import access_refused_record
from core.scopes import INTROSPECTION

from . import keyring, keys
from .choices import TokenKind
from .issue import ACCESS_TOKEN_TYP, grant_row_state, token_state_query
from .metrics import introspection_counted
from .oauth import bearer_checksum, client_for_row, client_token_query
from .prepared import prepared_pair

INTROSPECT_PATH = "/api/v1/tokens/introspect"
INTROSPECT_ACTION = "tokens.introspect"  # the ledger's name for a refused call
# Token answers are never cached (RFC 6749 5.1); the other token endpoints send the same.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"
CHALLENGE = 'Bearer realm="tessera"'


class IntrospectionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.path_info == INTROSPECT_PATH
            and request.method == "POST"
            and request.content_type == FORM
        ):
            return introspection_response(request)
        return self.get_response(request)


def introspection_response(request) -> HttpResponse:
    """RFC 7662 over a form-encoded POST (a Django request, or DRF's wrapping one)."""
    request.get_host()  # the Host check CommonMiddleware would make (DisallowedHost: 400)
    scheme, _, bearer = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    bearer = bearer.strip()
    if scheme.lower() != "bearer" or not bearer:
        return _refused(request, None, 401, "Authentication credentials were not provided.")
    token = request.POST.get("token", "")
    client, answer = token_introspect(bearer=bearer, token=token)
    if client is None:
        return _refused(request, None, 401, "The access token is invalid or expired.")
    if answer is None:
        return _refused(request, client.actor, 403, "This client's token lacks the required scope.")
    return HttpResponse(orjson.dumps(answer), content_type="application/json", headers=NO_STORE)


def _refused(request, who, status: int, detail: str) -> HttpResponse:
    """Recorded as the DRF view's exception handler records refusals (core/api.py)."""
    access_refused_record(
        who=who, action=INTROSPECT_ACTION, method=request.method, path=request.path, status=status
    )
    return _error(status, detail)


def _error(status: int, detail: str) -> HttpResponse:
    headers = {"WWW-Authenticate": CHALLENGE} if status == 401 else {}
    return HttpResponse(
        orjson.dumps({"detail": detail}),
        status=status,
        content_type="application/json",
        headers=headers,
    )


# --- introspection (RFC 7662) -----------------------------------------------------------------
def token_introspect(*, bearer: str, token: str, scope: str = INTROSPECTION):
    """Authenticate the storage client by its OAuth bearer token and introspect `token` (RFC
    7662): the one implementation of `POST /api/v1/tokens/introspect`, whichever of
    `tokens.introspection` and the DRF view answers it.

    The client's token and the introspected token's state are read in one query. Returns
    (None, None) if the bearer is not a valid client token (401), (client, None) if the client
    lacks `scope` (403), else (client, the answer). The answer is `{"active": false}` for every
    kind of failure, with no hint of which; the ledger records which (for auditors), and its
    event is committed before this returns, so no answer leaves without its record."""
    now = timezone.now()
    claims, reason = _checked_claims(token, now)
    pair = prepared_pair(
        "client_and_token_state",
        (client_token_query, "tessera:checksum-sentinel"),
        (token_state_query, "tessera:jti-sentinel"),
    )
    checksum = bearer_checksum(bearer) if bearer and len(bearer) <= 512 else ""
    client_row, state = pair.fetch(checksum, claims.get("jti", ""))
    client = client_for_row(client_row, now)
    if client is None:
        introspection_counted("unauthenticated")
        return None, None
    if not client.allow_scopes([scope]):
        introspection_counted("forbidden")
        return client, None
    return client, _introspection_answer(token, client.actor, claims, state, reason, now)


def _checked_claims(token: str, now: datetime) -> tuple[dict[str, Any], str]:
    """(claims, "") for a well-signed token whose claims hold now; else ({}, a reason code for
    the ledger, which then names the token by its SHA-256 rather than a claimed jti)."""
    try:
        claims = _verified_claims(token)
        keys.check_claims(
            claims,
            now=math.floor(now.timestamp()),
            issuer=settings.TESSERA_BASE_URL,
            audiences=settings.TESSERA_TOKEN_AUDIENCE,
        )
    except keys.InvalidToken as exc:
        return {}, exc.code
    return claims, ""


# Signature checks by token text. A token's signature under its kid never changes (kids are
# never reused, keys are immutable), so a verified token stays verified: what can change is
# whether its key was dropped, its times and its grant, and those are checked on every call
# (the key's state comes from the same fresh query as the grant's). Keyed by the pinned
# algorithm too. Bounded: emptied when full.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}


def _verified_claims(token: str) -> dict[str, Any]:
    alg = settings.TESSERA_TOKEN_ALG
    claims = _VERIFIED.get((alg, token))
    if claims is not None:
        return claims
    claims = keys.verify(
        token, alg=alg, typ=ACCESS_TOKEN_TYP, key_for=keyring.public_key_for
    ).claims
    limit = settings.TESSERA_VERIFIED_TOKEN_CACHE
    if limit > 0:
        if len(_VERIFIED) >= limit:
            _VERIFIED.clear()
        _VERIFIED[(alg, token)] = claims
    return claims


def _introspection_answer(token, client, claims, state, reason, now) -> dict[str, Any]:
    jti = claims.get("jti")
    if not reason:
        reason = _token_reason(state, claims, now)
    active = reason == ""
    # Outside a transaction the event's INSERT commits by itself: one round trip, durable
    # before the answer is returned.
    events.token_introspected(
        client=client,
        active=active,
        reason=reason,
        jti=jti,
        token_sha256=None if jti else keys.token_fingerprint(token),
        grant_id=state["grant_id"] if state else None,
        dataset=state["d_accession"] if state else None,
        sub=claims.get("sub") if state else None,
    )
    introspection_counted(reason)
    if not active:
        return {"active": False}
    return {
        "active": True,
        "iss": claims["iss"],
        "sub": claims["sub"],
        "aud": claims["aud"],
        "scope": claims.get("scope"),
        "dataset": claims.get("dataset"),
        "grant": claims.get("grant"),
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "jti": claims["jti"],
        "client_id": claims.get("client_id"),
        "token_type": "Bearer",
    }


def _token_reason(state: dict[str, Any] | None, claims: dict[str, Any], now: datetime) -> str:
    """The empty string when the token is active now; else a short code for the ledger."""
    if state is None:
        return "unknown_jti"
    if state["kind"] != TokenKind.ACCESS:
        return "kind"
    if not state["key_live"]:
        return "key_dropped"
    if state["revoked_at"] is not None:
        return "revoked"
    if claims.get("grant") != state["grant_id"] or claims.get("sub") != state["u_pseudonym"]:
        return "claims"
    grant_reason = grant_inactive_reason(grant_row_state(state), now)
    if grant_reason:
        return f"grant_inactive: {grant_reason}"
    return ""
