"""The storage tier's hottest call, `POST /api/v1/tokens/introspect`, answered early.

`IntrospectionMiddleware` sits after SecurityMiddleware (HTTPS redirect, HSTS),
RequestContextMiddleware (request id and client address for the ledger) and
NulCharacterMiddleware, and before sessions, CSRF, user authentication, messages and
django-auditlog, none of which this call uses: the storage tier authenticates with an OAuth2
bearer token, sends no cookie and changes no model. It answers a form-encoded POST to the exact
path; anything else (another method or content type) goes on to the DRF view, which documents
the endpoint in the OpenAPI schema and answers those with DRF's own errors.

Per call: the signature check (CPU only, cached by token text, see `access.tokens`), one query
reading both the client's OAuth token and the introspected token's state, and the ledger event's
INSERT, which commits by itself before the answer is sent. Nothing that can change is cached.
"""

from __future__ import annotations

import orjson
from django.http import HttpResponse

from audit.refusals import access_refused_record

from . import tokens
from .api.tokens import INTROSPECT_ACTION, NO_STORE

INTROSPECT_PATH = "/api/v1/tokens/introspect"
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
    """RFC 7662 over a form-encoded POST; the same statuses and bodies as the DRF view."""
    request.get_host()  # the Host check CommonMiddleware would make (DisallowedHost: 400)
    scheme, _, bearer = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    bearer = bearer.strip()
    if scheme.lower() != "bearer" or not bearer:
        return _refused(request, None, 401, "Authentication credentials were not provided.")
    token = request.POST.get("token", "")
    client, answer = tokens.introspect_for_bearer(bearer=bearer, token=token)
    if client is None:
        return _refused(request, None, 401, "The access token is invalid or expired.")
    if answer is None:
        return _refused(request, client.actor, 403, "This client's token lacks the required scope.")
    return HttpResponse(orjson.dumps(answer), content_type="application/json", headers=NO_STORE)


def _refused(request, who, status: int, detail: str) -> HttpResponse:
    """The DRF view's exception handler records the same refusals (config/api.py)."""
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
