"""Per-request context (request id, client address, OAuth client) for ledger events.

Set by `audit.middleware.RequestContextMiddleware`; services never pass it explicitly.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_addr: str = ""
    # The primary key of the OAuth application a person acts through, bound by the API's OAuth2
    # authentication: `audit.ledger.append` names it ("client:<pk>") in every event of the action.
    oauth_application_id: int | None = None


_EMPTY = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "tessera_request_context", default=None
)


def current() -> RequestContext:
    return _current.get() or _EMPTY


def bind(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)
