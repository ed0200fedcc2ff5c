"""When a webhook may go where, and when it is tried again. No database; `address_problem`
asks the resolver."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

# The first retry after this many seconds, each later one twice as late, at most this many.
FIRST_RETRY_SECONDS = 5
LONGEST_WAIT_SECONDS = 3600


def address_problem(host: str, *, allowed_hosts: Iterable[str] = ()) -> str | None:
    """Why `host` may not receive webhooks, or None: every address it resolves to must be a
    public one, so that a subscription cannot make Tessera call its own admin, a cloud's
    metadata service or the private network (server-side request forgery). Hosts named in
    `TESSERA_WEBHOOK_ALLOWED_HOSTS` are exempt (an archive on the internal network)."""
    if host.lower().rstrip(".") in {h.lower().rstrip(".") for h in allowed_hosts}:
        return None
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        # Not resolvable now: nothing to judge. A send resolves it again, is checked again
        # before it goes (services._attempt), and fails as any unreachable endpoint does.
        return None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not address.is_global:
            return (
                f"The endpoint's host {host} is a private, loopback or link-local address "
                f"({address}); webhooks go to public endpoints only (list an internal host in "
                "TESSERA_WEBHOOK_ALLOWED_HOSTS)."
            )
    return None


def url_problem(url: str, *, debug: bool, allowed_hosts: Iterable[str] = ()) -> str | None:
    """Why an endpoint may not receive webhooks, or None. Plain HTTP and local addresses only
    while DEBUG is on."""
    parts = urlsplit(url or "")
    allowed = ("https", "http") if debug else ("https",)
    if parts.scheme not in allowed:
        return "A webhook endpoint must use HTTPS." if not debug else "Use an http(s) URL."
    if not parts.hostname:
        return "The endpoint's URL has no host."
    if parts.username or parts.password:
        return "Put no credentials in the URL: the signature authenticates each request."
    if not debug:
        return address_problem(parts.hostname, allowed_hosts=allowed_hosts)
    return None


def retry_at(
    *, created_at: datetime, attempts: int, now: datetime, hours: float
) -> datetime | None:
    """After `attempts` failed attempts, when to try again: exponential backoff, or None once
    the delivery is `hours` old (it is then given up)."""
    if now >= created_at + timedelta(hours=hours):
        return None
    wait = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_WAIT_SECONDS)
    return now + timedelta(seconds=wait)
