"""The request's context for the ledger (its id, the client's address), and its log line."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.db import DatabaseError

from core import context
from core.client_address import client_address
from core.logs import path_without_secrets

from .actors import pseudonym_for

request_log = logging.getLogger("tessera.request")
# Path parts that are secrets: the signed links of invitations and password resets.

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Gives every request an id (or keeps a sane X-Request-ID) and records the client address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # X-Forwarded-For counts only from TESSERA_TRUSTED_PROXIES (core/client_address.py).
        token = context.bind(
            context.RequestContext(request_id=request_id, client_addr=client_address(request))
        )
        try:
            response = self.get_response(request)
        finally:
            context.unbind(token)
        response["X-Request-ID"] = request_id
        return response


class RequestLogMiddleware:
    """One log line per request (LOG_FORMAT=json, core/logs.py): method, path without its query
    string, status, duration and the person's pseudonym, never their name."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        actor = _actor(request)
        path = path_without_secrets(request)
        request_log.info(
            "%s %s %s",
            request.method,
            path,
            response.status_code,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "actor": actor,
            },
        )
        return response


def _actor(request) -> str:
    """The signed-in person's ledger pseudonym, "" for nobody; "unknown" when the database
    cannot say (a log line must never turn an answer into a 500)."""
    user = getattr(request, "user", None)
    try:
        return pseudonym_for(user) if user is not None and user.is_authenticated else ""
    except DatabaseError:
        return "unknown"
