from __future__ import annotations

import re
import uuid

from core import context
from core.client_address import client_address

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
