"""The storage tier's hottest call, `POST /api/v1/tokens/introspect`, answered early.

`introspection_response` is the endpoint's one implementation over HTTP (the Host check, the
bearer, 401 and 403 with their recorded refusals, the RFC 7662 answer from
`tokens.token_introspect`). Two ways lead to it:

- `IntrospectionMiddleware`, for every form-encoded POST to the exact path. It sits after
  SecurityMiddleware (HTTPS redirect, HSTS), RequestContextMiddleware (request id and client
  address for the ledger) and NulCharacterMiddleware, and before sessions, CSRF, user
  authentication, messages and django-auditlog, none of which this call uses: the storage tier
  authenticates with an OAuth2 bearer token, sends no cookie and changes no model.
- The DRF view (`tokens.api.tokens.IntrospectView`), for everything else: it documents the
  endpoint in the OpenAPI schema and answers other methods and content types with DRF's own
  errors (401 and 403 first, recorded the same way, then 405 or 415). A form POST reaches it
  only where the middleware is not installed, and it then hands the request to this function.

Per call: the signature check (CPU only, cached by token text, see `tokens.tokens`), one query
reading both the client's OAuth token and the introspected token's state, and the ledger event's
INSERT, which commits by itself before the answer is sent. Nothing that can change is cached.
"""

from __future__ import annotations

import orjson
from django.http import HttpResponse

from audit.refusals import access_refused_record

from . import tokens

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
    client, answer = tokens.token_introspect(bearer=bearer, token=token)
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
